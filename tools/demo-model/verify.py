"""Independent check of the committed demo-model files (no PyTorch needed).

  python3 verify.py [DIR]   (default: model/src/main/resources/dev/nibble/model/demo)

Re-implements the DiT forward pass in NumPy float64 straight from the tensors and metadata in
dit-digits.safetensors, runs it on reference-io.safetensors and reports the largest difference to
the stored PyTorch float32 output. Also re-checks the classifier's accuracy on digits-real.
"""
import json
import math
import os
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

DEFAULT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "model", "src", "main",
                           "resources", "dev", "nibble", "model", "demo")


def layer_norm(x, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def silu(x):
    return x / (1 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def linear(w, name, x):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def forward(w, cfg, x, t, y):
    n = x.shape[0]
    p, d, heads = cfg["patch_size"], cfg["hidden_size"], cfg["num_heads"]
    c_in = cfg["in_channels"]
    g = cfg["input_size"] // p
    dh = d // heads
    # patch embedding: token k = row*g + col, vector = conv over the p x p x C patch
    patches = x.reshape(n, c_in, g, p, g, p).transpose(0, 2, 4, 1, 3, 5).reshape(n, g * g, -1)
    conv_w = w["x_embedder.proj.weight"].reshape(d, -1)
    h = patches @ conv_w.T + w["x_embedder.proj.bias"] + w["pos_embed"][0]
    half = cfg["frequency_embedding_size"] // 2
    freqs = np.exp(-math.log(10000.0) * np.arange(half) / half)
    args = t[:, None].astype(np.float64) * freqs[None]
    temb = np.concatenate([np.cos(args), np.sin(args)], axis=1)
    temb = linear(w, "t_embedder.mlp.2", silu(linear(w, "t_embedder.mlp.0", temb)))
    c = temb + w["y_embedder.embedding_table.weight"][y]
    sc = silu(c)
    for b in range(cfg["depth"]):
        pre = f"blocks.{b}."
        mod = linear(w, pre + "adaLN_modulation.1", sc)
        sh1, s1, g1, sh2, s2, g2 = np.split(mod, 6, axis=1)
        a = layer_norm(h) * (1 + s1[:, None]) + sh1[:, None]
        qkv = linear(w, pre + "attn.qkv", a).reshape(n, g * g, 3, heads, dh)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(0, 2, 1, 3).reshape(n, g * g, d)
        h = h + g1[:, None] * linear(w, pre + "attn.proj", o)
        m = layer_norm(h) * (1 + s2[:, None]) + sh2[:, None]
        m = linear(w, pre + "mlp.fc2", gelu_tanh(linear(w, pre + "mlp.fc1", m)))
        h = h + g2[:, None] * m
    sh, s = np.split(linear(w, "final_layer.adaLN_modulation.1", sc), 2, axis=1)
    out = linear(w, "final_layer.linear", layer_norm(h) * (1 + s[:, None]) + sh[:, None])
    c_out = c_in * (2 if cfg["learn_sigma"] else 1)
    out = out.reshape(n, g, g, p, p, c_out).transpose(0, 5, 1, 3, 2, 4)
    return out.reshape(n, c_out, g * p, g * p)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR
    dit_path = os.path.join(root, "dit-digits.safetensors")
    with safe_open(dit_path, framework="numpy") as f:
        meta = f.metadata()
    cfg = json.loads(meta["nibble.dit.config"])
    print("config:", cfg)
    print("schedule:", meta["nibble.dit.schedule"])
    w = {k: v.astype(np.float64) for k, v in load_file(dit_path).items()}
    ref = load_file(os.path.join(root, "reference-io.safetensors"))
    eps = forward(w, cfg, ref["x"].astype(np.float64), ref["t"], ref["y"])
    diff = np.abs(eps - ref["eps"].astype(np.float64))
    rel = diff.max() / np.abs(ref["eps"]).max()
    print(f"reference eps: max abs diff {diff.max():.3e}, max rel diff (to max |eps|) {rel:.3e}, "
          f"max |eps| {np.abs(ref['eps']).max():.4f}")
    real = load_file(os.path.join(root, "digits-real.safetensors"))
    clf = {k: v.astype(np.float64) for k, v in
           load_file(os.path.join(root, "classifier.safetensors")).items()}
    xs = real["images"].reshape(real["images"].shape[0], -1).astype(np.float64)
    logits = linear(clf, "fc2", np.maximum(linear(clf, "fc1", xs), 0))
    acc = (logits.argmax(1) == real["labels"]).mean()
    print(f"classifier accuracy on all {xs.shape[0]} real digits: {acc:.4f}")
    ok = rel < 1e-4 and acc > 0.9
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
