package dev.nibble.model.dit;

import dev.nibble.api.DType;
import dev.nibble.api.InvalidInputException;
import dev.nibble.api.QuantizedLinear;
import dev.nibble.api.Shape;
import dev.nibble.api.Tensor;
import dev.nibble.api.backend.DeviceTensor;
import dev.nibble.api.backend.KernelBackend;
import dev.nibble.api.backend.PreparedLinear;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link DitModel} on a {@link KernelBackend}: every linear through a prepared plan, every
 * other op (LayerNorm, modulation, attention, GELU, SiLU, gated residuals) through the backend's
 * DiT operations, so activations stay on the device between the input upload and the output
 * download. Patchify, the sinusoidal timestep features and the label lookup run on the host, on the
 * inputs, before the upload.
 *
 * <p>Thread-safe for concurrent {@link #forward} calls if the backend is.
 */
public final class DitRunner implements AutoCloseable {
    private static final float LN_EPS = 1e-6f;

    private final KernelBackend backend;
    private final DitModel model;
    private final DitConfig c;
    private final Map<String, PreparedLinear> linear = new HashMap<>();
    private final Map<String, List<PreparedLinear>> chunks = new HashMap<>();
    private final List<PreparedLinear> all = new ArrayList<>();
    private final float[] labelTable;
    private final float[] posEmbed;
    private volatile LinearInputHook hook;

    /**
     * Prepares every layer on the backend.
     *
     * @param backend an open backend (not closed by the runner)
     * @param model the model (not closed by the runner)
     */
    public DitRunner(KernelBackend backend, DitModel model) {
        this.backend = backend;
        this.model = model;
        this.c = model.config();
        int d = c.hiddenSize();
        try {
            for (DitLayers.Spec s : DitLayers.all(c)) {
                QuantizedLinear p = model.plans().get(s.name());
                int parts = s.name().equals(DitLayers.FINAL_ADALN) ? 2
                        : s.role() == dev.nibble.api.method.LayerRole.ADALN_MODULATION ? 6 : 1;
                if (parts == 1) {
                    linear.put(s.name(), prepare(p));
                } else {
                    List<PreparedLinear> list = new ArrayList<>();
                    for (int i = 0; i < parts; i++) {
                        list.add(prepare(PlanSlicer.rows(p, i * d, (i + 1) * d)));
                    }
                    chunks.put(s.name(), list);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.labelTable = model.labelTable().to(DType.F32).toFloatArray();
        this.posEmbed = model.posEmbed().to(DType.F32).toFloatArray();
    }

    private PreparedLinear prepare(QuantizedLinear p) {
        PreparedLinear pl = backend.prepare(p);
        all.add(pl);
        return pl;
    }

    /** @return the model */
    public DitModel model() {
        return model;
    }

    /** @return the backend */
    public KernelBackend backend() {
        return backend;
    }

    /** @param hook sees every linear input from now on (null: none) */
    public void setHook(LinearInputHook hook) {
        this.hook = hook;
    }

    /** @return bytes of device memory the prepared layers hold */
    public long deviceBytes() {
        return all.stream().mapToLong(PreparedLinear::deviceBytes).sum();
    }

    /**
     * The noise prediction for a batch.
     *
     * @param x F32 {@code [B, C, H, W]} noisy images
     * @param t timesteps, one per image, in {@code [0, 1000)}
     * @param y class labels, one per image; {@code numClasses} is the null class
     * @param step the sampling step index (selects per-step static activation tables)
     * @return F32 {@code [B, C_out, H, W]} (the first C channels are epsilon)
     */
    public Tensor forward(Tensor x, long[] t, long[] y, int step) {
        int b = checkInputs(x, t, y);
        int d = c.hiddenSize();
        int tokens = c.tokens();
        try (Scope s = new Scope()) {
            DeviceTensor h = s.add(backend.upload(Tensor.ofFloats(patchify(x.to(DType.F32).toFloatArray(), b), b, tokens, c.patchDim())));
            h = s.add(linear(DitLayers.PATCH, h, step));
            h = s.add(backend.add(h, s.add(backend.upload(Tensor.ofFloats(tiledPos(b), b, tokens, d)))));
            DeviceTensor temb = s.add(backend.upload(Tensor.ofFloats(timestepFeatures(t, c.frequencyEmbeddingSize()), b,
                    c.frequencyEmbeddingSize())));
            temb = s.add(linear(DitLayers.T_MLP0, temb, step));
            temb = s.add(backend.silu(temb));
            temb = s.add(linear(DitLayers.T_MLP2, temb, step));
            DeviceTensor cond = s.add(backend.add(temb, s.add(backend.upload(Tensor.ofFloats(labels(y), b, d)))));
            DeviceTensor siluC = s.add(backend.silu(cond));
            for (int i = 0; i < c.depth(); i++) {
                h = block(s, i, h, siluC, step);
            }
            List<DeviceTensor> mod = modulation(s, DitLayers.FINAL_ADALN, siluC, step);
            DeviceTensor n = s.add(backend.layerNorm(h, LN_EPS));
            DeviceTensor m = s.add(backend.modulate(n, mod.get(0), mod.get(1)));
            DeviceTensor out = s.add(linear(DitLayers.FINAL_LINEAR, m, step));
            Tensor host = backend.download(out);
            return unpatchify(host.toFloatArray(), b);
        }
    }

    private DeviceTensor block(Scope outer, int i, DeviceTensor x, DeviceTensor siluC, int step) {
        // intermediates die with the block; only its output joins the pass scope
        try (Scope s = new Scope()) {
        List<DeviceTensor> mod = modulation(s, DitLayers.block(i, "adaLN_modulation.1"), siluC, step);
        DeviceTensor n1 = s.add(backend.layerNorm(x, LN_EPS));
        DeviceTensor m1 = s.add(backend.modulate(n1, mod.get(0), mod.get(1)));
        DeviceTensor qkv = s.add(linear(DitLayers.block(i, "attn.qkv"), m1, step));
        DeviceTensor att = s.add(backend.attention(qkv, c.numHeads()));
        DeviceTensor proj = s.add(linear(DitLayers.block(i, "attn.proj"), att, step));
        DeviceTensor x1 = s.add(backend.gatedAdd(x, mod.get(2), proj));
        DeviceTensor n2 = s.add(backend.layerNorm(x1, LN_EPS));
        DeviceTensor m2 = s.add(backend.modulate(n2, mod.get(3), mod.get(4)));
        DeviceTensor f1 = s.add(linear(DitLayers.block(i, "mlp.fc1"), m2, step));
        DeviceTensor g = s.add(backend.gelu(f1));
        DeviceTensor f2 = s.add(linear(DitLayers.block(i, "mlp.fc2"), g, step));
        return outer.add(backend.gatedAdd(x1, mod.get(5), f2));
        }
    }

    private DeviceTensor linear(String name, DeviceTensor x, int step) {
        LinearInputHook h = hook;
        if (h != null) {
            h.onInput(name, step, x, backend);
        }
        return linear.get(name).forward(x, step);
    }

    private List<DeviceTensor> modulation(Scope s, String name, DeviceTensor siluC, int step) {
        LinearInputHook h = hook;
        if (h != null) {
            h.onInput(name, step, siluC, backend);
        }
        List<DeviceTensor> out = new ArrayList<>();
        for (PreparedLinear p : chunks.get(name)) {
            out.add(s.add(p.forward(siluC, step)));
        }
        return out;
    }

    private int checkInputs(Tensor x, long[] t, long[] y) {
        Shape want = Shape.of(x.shape().rank() == 4 ? x.shape().dim(0) : -0, c.inChannels(), c.inputSize(), c.inputSize());
        if (x.shape().rank() != 4 || !x.shape().equals(want) || !x.dtype().isFloatingPoint()) {
            throw new InvalidInputException("DiT input x must be a float [B, " + c.inChannels() + ", " + c.inputSize() + ", "
                    + c.inputSize() + "] tensor, got " + x);
        }
        int b = Math.toIntExact(x.shape().dim(0));
        if (t.length != b || y.length != b) {
            throw new InvalidInputException("DiT input: " + b + " images but " + t.length + " timesteps and " + y.length + " labels");
        }
        for (long yi : y) {
            if (yi < 0 || yi > c.numClasses()) {
                throw new InvalidInputException("label " + yi + " outside [0, " + c.numClasses() + "] (" + c.numClasses()
                        + " is the null class)");
            }
        }
        return b;
    }

    /** [B, C, H, W] → [B, T, C·p·p] with T row-major over the patch grid and (c, i, j) within a patch, like a stride-p conv. */
    float[] patchify(float[] img, int b) {
        int p = c.patchSize();
        int g = c.gridSize();
        int ch = c.inChannels();
        int hw = c.inputSize();
        float[] out = new float[b * c.tokens() * c.patchDim()];
        int o = 0;
        for (int n = 0; n < b; n++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    for (int k = 0; k < ch; k++) {
                        for (int i = 0; i < p; i++) {
                            for (int j = 0; j < p; j++) {
                                out[o++] = img[((n * ch + k) * hw + gy * p + i) * hw + gx * p + j];
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** [B, T, p·p·C] → [B, C, H, W]: DiT's reshape (N,h,w,p,q,c) and einsum nhwpqc→nchpwq. */
    Tensor unpatchify(float[] x, int b) {
        int p = c.patchSize();
        int g = c.gridSize();
        int co = c.outChannels();
        int hw = c.inputSize();
        float[] img = new float[b * co * hw * hw];
        for (int n = 0; n < b; n++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    int tok = (n * g + gy) * g + gx;
                    for (int i = 0; i < p; i++) {
                        for (int j = 0; j < p; j++) {
                            for (int k = 0; k < co; k++) {
                                img[((n * co + k) * hw + gy * p + i) * hw + gx * p + j] = x[(tok * p * p + i * p + j) * co + k];
                            }
                        }
                    }
                }
            }
        }
        return Tensor.ofFloats(img, b, co, hw, hw);
    }

    private float[] tiledPos(int b) {
        float[] out = new float[b * posEmbed.length];
        for (int n = 0; n < b; n++) {
            System.arraycopy(posEmbed, 0, out, n * posEmbed.length, posEmbed.length);
        }
        return out;
    }

    private float[] labels(long[] y) {
        int d = c.hiddenSize();
        float[] out = new float[y.length * d];
        for (int n = 0; n < y.length; n++) {
            System.arraycopy(labelTable, (int) y[n] * d, out, n * d, d);
        }
        return out;
    }

    /**
     * DiT's sinusoidal timestep features, in float32 arithmetic as PyTorch computes them:
     * {@code freqs = exp(-ln(10000)·i/half)}, {@code args = t·freqs}, {@code [cos(args), sin(args)]}.
     *
     * @param t timesteps
     * @param dim the feature width (even)
     * @return F32 {@code [B, dim]} row-major
     */
    public static float[] timestepFeatures(long[] t, int dim) {
        int half = dim / 2;
        float lnMax = (float) -Math.log(10000.0);
        float[] freqs = new float[half];
        for (int i = 0; i < half; i++) {
            freqs[i] = (float) Math.exp(lnMax * (float) i / (float) half);
        }
        float[] out = new float[t.length * dim];
        for (int n = 0; n < t.length; n++) {
            float tf = (float) t[n];
            for (int i = 0; i < half; i++) {
                float arg = tf * freqs[i];
                out[n * dim + i] = (float) Math.cos(arg);
                out[n * dim + half + i] = (float) Math.sin(arg);
            }
        }
        return out;
    }

    /** Releases every prepared layer. */
    @Override
    public void close() {
        for (PreparedLinear p : all) {
            p.close();
        }
        all.clear();
    }

    /** Closes the device tensors of one forward pass when it ends. */
    private static final class Scope implements AutoCloseable {
        private final List<DeviceTensor> owned = new ArrayList<>();

        DeviceTensor add(DeviceTensor t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                owned.get(i).close();
            }
        }
    }
}
