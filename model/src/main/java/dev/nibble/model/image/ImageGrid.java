package dev.nibble.model.image;

import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import java.nio.file.Path;

/** Tiles a batch of single-channel images in [-1, 1] into one grayscale grid, upscaled for viewing. */
public final class ImageGrid {
    private ImageGrid() {
    }

    /**
     * @param images F32 {@code [n, 1, h, w]} (the first channel is used), values in [-1, 1]
     * @param columns images per row
     * @param scale integer upscaling (nearest neighbour)
     * @param target the PNG file
     */
    public static void write(Tensor images, int columns, int scale, Path target) {
        long[] d = images.shape().dims();
        int n = (int) d[0];
        int ch = (int) d[1];
        int h = (int) d[2];
        int w = (int) d[3];
        int rows = (n + columns - 1) / columns;
        int pad = 1;
        int cw = (w * scale + pad);
        int chh = (h * scale + pad);
        int width = columns * cw + pad;
        int height = rows * chh + pad;
        byte[] px = new byte[width * height];
        java.util.Arrays.fill(px, (byte) 64);
        float[] v = images.to(DType.F32).toFloatArray();
        for (int i = 0; i < n; i++) {
            int ox = pad + (i % columns) * cw;
            int oy = pad + (i / columns) * chh;
            for (int y = 0; y < h * scale; y++) {
                for (int x = 0; x < w * scale; x++) {
                    float f = v[(i * ch) * h * w + (y / scale) * w + x / scale];
                    int g = (int) Math.round((Math.max(-1, Math.min(1, f)) + 1) * 127.5);
                    px[(oy + y) * width + ox + x] = (byte) g;
                }
            }
        }
        PngWriter.writeGray(target, px, width, height);
    }
}
