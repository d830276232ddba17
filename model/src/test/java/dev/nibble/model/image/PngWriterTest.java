package dev.nibble.model.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.InflaterInputStream;
import org.junit.jupiter.api.Test;

class PngWriterTest {
    @Test
    void writesAValidGrayscalePng() throws Exception {
        byte[] px = new byte[3 * 2];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 40);
        }
        byte[] png = PngWriter.encodeGray(px, 3, 2);
        ByteBuffer b = ByteBuffer.wrap(png);
        assertThat(java.util.Arrays.copyOf(png, 8)).containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');
        b.position(8);
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        int chunks = 0;
        while (b.hasRemaining()) {
            int len = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[len];
            b.get(data);
            CRC32 crc = new CRC32();
            crc.update(type);
            crc.update(data);
            assertThat(b.getInt()).isEqualTo((int) crc.getValue());
            String t = new String(type, java.nio.charset.StandardCharsets.US_ASCII);
            if (t.equals("IHDR")) {
                assertThat(ByteBuffer.wrap(data).getInt(0)).isEqualTo(3);
                assertThat(ByteBuffer.wrap(data).getInt(4)).isEqualTo(2);
            }
            if (t.equals("IDAT")) {
                idat.write(data);
            }
            chunks++;
        }
        assertThat(chunks).isEqualTo(3);
        byte[] raw = new InflaterInputStream(new java.io.ByteArrayInputStream(idat.toByteArray())).readAllBytes();
        assertThat(raw).containsExactly(0, 0, 40, 80, 0, 120, (byte) 160, (byte) 200);
    }
}
