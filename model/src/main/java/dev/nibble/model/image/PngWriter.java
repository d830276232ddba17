package dev.nibble.model.image;

import dev.nibble.api.io.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * A minimal PNG encoder (8-bit grayscale, no interlace) on java.util.zip, so that images can be
 * written on runtimes without java.desktop. Writes go to a temporary file renamed into place.
 */
public final class PngWriter {
    private PngWriter() {
    }

    /**
     * @param gray row-major 8-bit values
     * @param width width
     * @param height height
     * @return the PNG bytes
     */
    public static byte[] encodeGray(byte[] gray, int width, int height) {
        if (gray.length != width * height || width <= 0 || height <= 0) {
            throw new IllegalArgumentException("need width·height bytes");
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
            byte[] ihdr = new byte[13];
            putInt(ihdr, 0, width);
            putInt(ihdr, 4, height);
            ihdr[8] = 8; // bit depth
            ihdr[9] = 0; // grayscale
            chunk(out, "IHDR", ihdr);
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            try (DeflaterOutputStream z = new DeflaterOutputStream(raw, new Deflater(Deflater.BEST_COMPRESSION))) {
                for (int y = 0; y < height; y++) {
                    z.write(0); // filter: none
                    z.write(gray, y * width, width);
                }
            }
            chunk(out, "IDAT", raw.toByteArray());
            chunk(out, "IEND", new byte[0]);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param target the file (atomically replaced)
     * @param gray row-major 8-bit values
     * @param width width
     * @param height height
     */
    public static void writeGray(Path target, byte[] gray, int width, int height) {
        byte[] png = encodeGray(gray, width, height);
        AtomicFiles.write(target, png);
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        byte[] len = new byte[4];
        putInt(len, 0, data.length);
        out.write(len);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        out.write(c);
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }
}
