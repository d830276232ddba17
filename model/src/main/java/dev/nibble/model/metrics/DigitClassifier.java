package dev.nibble.model.metrics;

import dev.nibble.api.CheckpointFormatException;
import dev.nibble.api.DType;
import dev.nibble.api.Tensor;
import dev.nibble.model.safetensors.SafetensorsFile;
import java.nio.file.Path;

/**
 * The demo's digit classifier: an MLP on flattened images in [-1, 1],
 * {@code fc2(relu(fc1(x)))}; its hidden ReLU activations are the features of the Fréchet distance.
 */
public final class DigitClassifier {
    private final float[] w1;
    private final float[] b1;
    private final float[] w2;
    private final float[] b2;
    private final int in;
    private final int hidden;
    private final int classes;

    /**
     * @param path classifier.safetensors (fc1.weight [H, P], fc1.bias, fc2.weight [classes, H], fc2.bias)
     * @return the classifier
     * @throws CheckpointFormatException if the layout is wrong
     */
    public static DigitClassifier load(Path path) {
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            Tensor w1 = f.tensor("fc1.weight");
            Tensor w2 = f.tensor("fc2.weight");
            if (w1.shape().rank() != 2 || w2.shape().rank() != 2 || w2.shape().dim(1) != w1.shape().dim(0)) {
                throw new CheckpointFormatException(path, "fc2.weight", "shapes " + w1.shape() + " and " + w2.shape()
                        + " do not chain (need fc1 [H, P], fc2 [classes, H])");
            }
            int h = (int) w1.shape().dim(0);
            int k = (int) w2.shape().dim(0);
            return new DigitClassifier(w1.to(DType.F32).toFloatArray(), f.tensor("fc1.bias", DType.F32, h).toFloatArray(),
                    w2.to(DType.F32).toFloatArray(), f.tensor("fc2.bias", DType.F32, k).toFloatArray(), (int) w1.shape().dim(1), h, k);
        }
    }

    /**
     * @param w1 fc1 weight [hidden, in]
     * @param b1 fc1 bias
     * @param w2 fc2 weight [classes, hidden]
     * @param b2 fc2 bias
     * @param in input width
     * @param hidden hidden width
     * @param classes classes
     */
    public DigitClassifier(float[] w1, float[] b1, float[] w2, float[] b2, int in, int hidden, int classes) {
        this.w1 = w1;
        this.b1 = b1;
        this.w2 = w2;
        this.b2 = b2;
        this.in = in;
        this.hidden = hidden;
        this.classes = classes;
    }

    /** @return the input width (pixels per image) */
    public int inputSize() {
        return in;
    }

    /**
     * @param image flattened pixels in [-1, 1]
     * @return the hidden ReLU features
     */
    public double[] features(float[] image) {
        if (image.length != in) {
            throw new IllegalArgumentException("classifier takes " + in + " pixels, got " + image.length);
        }
        double[] h = new double[hidden];
        for (int o = 0; o < hidden; o++) {
            double s = b1[o];
            for (int i = 0; i < in; i++) {
                s += (double) w1[o * in + i] * image[i];
            }
            h[o] = Math.max(0, s);
        }
        return h;
    }

    /**
     * @param image flattened pixels
     * @return the most likely class
     */
    public int predict(float[] image) {
        double[] h = features(image);
        int best = 0;
        double bestV = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            double s = b2[c];
            for (int i = 0; i < hidden; i++) {
                s += (double) w2[c * hidden + i] * h[i];
            }
            if (s > bestV) {
                bestV = s;
                best = c;
            }
        }
        return best;
    }

    /**
     * @param images {@code [n, ...]} with {@link #inputSize()} pixels each
     * @param labels the true classes
     * @return the fraction predicted correctly
     */
    public double accuracy(Tensor images, long[] labels) {
        float[] all = images.to(DType.F32).toFloatArray();
        int n = labels.length;
        int ok = 0;
        for (int i = 0; i < n; i++) {
            float[] img = java.util.Arrays.copyOfRange(all, i * in, (i + 1) * in);
            ok += predict(img) == labels[i] ? 1 : 0;
        }
        return (double) ok / n;
    }

    /**
     * @param images {@code [n, ...]}
     * @return the features of every image
     */
    public double[][] features(Tensor images) {
        float[] all = images.to(DType.F32).toFloatArray();
        int n = all.length / in;
        double[][] f = new double[n][];
        for (int i = 0; i < n; i++) {
            f[i] = features(java.util.Arrays.copyOfRange(all, i * in, (i + 1) * in));
        }
        return f;
    }
}
