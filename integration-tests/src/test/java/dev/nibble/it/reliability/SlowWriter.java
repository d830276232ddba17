package dev.nibble.it.reliability;

import dev.nibble.api.DType;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsWriter;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;

/**
 * A child process for the kill test: streams {@code count} tensors of {@code bytes} bytes through the
 * real {@link SafetensorsWriter}, pausing between tensors so the parent can kill it mid-write.
 * Arguments: target count bytes pauseMillis.
 */
public final class SlowWriter {
    private SlowWriter() {
    }

    public static void main(String[] args) throws InterruptedException {
        Path target = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        int bytes = Integer.parseInt(args[2]);
        long pause = Long.parseLong(args[3]);
        Random r = new Random(1);
        try (SafetensorsWriter w = SafetensorsWriter.create(target)) {
            for (int i = 0; i < count; i++) {
                Tensor t = Tensor.allocate(DType.U8, Shape.of(bytes));
                for (long j = 0; j < bytes; j += 64) {
                    t.data().set(ValueLayout.JAVA_BYTE, j, (byte) r.nextInt());
                }
                w.add("t" + i, t);
                Thread.sleep(pause);
            }
            w.commit();
        }
        System.out.println("committed " + target);
    }
}
