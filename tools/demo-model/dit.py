"""A small class-conditional diffusion transformer (DiT) for the Nibble demo model.

Written for Nibble from the published description of DiT (Peebles & Xie, "Scalable Diffusion
Models with Transformers", 2023). Tensor names follow the layout used by the public DiT
checkpoints so that Nibble's Java loader reads the same names for this model and for real ones.

Every operation here is plain float32 PyTorch (explicit attention matmuls, no fused kernels) so
that an eval-mode forward on the CPU is an exact float32 reference for the Java implementation.
"""
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_CONFIG = {
    "input_size": 16,
    "patch_size": 2,
    "in_channels": 1,
    "hidden_size": 128,
    "depth": 4,
    "num_heads": 4,
    "mlp_ratio": 4.0,
    "num_classes": 10,
    "learn_sigma": False,
    "frequency_embedding_size": 256,
}

SCHEDULE = {"kind": "linear", "beta_start": 0.0001, "beta_end": 0.02, "steps": 1000,
            "prediction": "epsilon"}

CONFIG_KEY = "nibble.dit.config"
SCHEDULE_KEY = "nibble.dit.schedule"


def modulate(x, shift, scale):
    # shift/scale are per sample (B, D); x is (B, T, D)
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_embedding(t, dim):
    """cat([cos(t*f), sin(t*f)]) with f_i = exp(-ln(10000) * i / half), i < half."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32,
                                                        device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def sincos_pos_embed_2d(dim, grid):
    """Fixed 2-D sin-cos table (grid*grid, dim). Token k = row*grid + col.

    First half of the channels encodes the column, second half the row; within each half:
    sin(pos * w_i) for i < dim/4, then cos(pos * w_i), w_i = 10000^(-i/(dim/4)).
    The table is stored in the checkpoint, so a reader never needs to recompute it.
    """
    quarter = dim // 4
    omega = 1.0 / (10000.0 ** (np.arange(quarter, dtype=np.float64) / quarter))
    rows, cols = np.meshgrid(np.arange(grid, dtype=np.float64),
                             np.arange(grid, dtype=np.float64), indexing="ij")

    def one_axis(pos):
        out = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    table = np.concatenate([one_axis(cols), one_axis(rows)], axis=1)
    return torch.from_numpy(table.astype(np.float32))


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_ch, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, dim, kernel_size=patch, stride=patch, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, T, D), T row-major over patches


class TimestepEmbedder(nn.Module):
    def __init__(self, dim, freq_dim):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.freq_dim))


class LabelEmbedder(nn.Module):
    """Row num_classes is the null class used for classifier-free guidance."""

    def __init__(self, num_classes, dim, dropout):
        super().__init__()
        self.num_classes = num_classes
        self.dropout = dropout
        self.embedding_table = nn.Embedding(num_classes + 1, dim)

    def forward(self, y):
        if self.training and self.dropout > 0:
            drop = torch.rand(y.shape, device=y.device) < self.dropout
            y = torch.where(drop, torch.full_like(y, self.num_classes), y)
        return self.embedding_table(y)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        b, t, d = x.shape
        dh = d // self.heads
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                 # (B, heads, T, dh)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
        out = scores.softmax(dim=-1) @ v                   # (B, heads, T, dh)
        out = out.transpose(1, 2).reshape(b, t, d)        # heads concatenated per token
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=True)
        self.fc2 = nn.Linear(hidden, dim, bias=True)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class DiTBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim, bias=True))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = \
            self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, dim, patch, out_ch):
        super().__init__()
        self.norm_final = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch * patch * out_ch, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, config=None, label_dropout=0.1):
        super().__init__()
        cfg = dict(DEFAULT_CONFIG if config is None else config)
        self.config = cfg
        d = cfg["hidden_size"]
        p = cfg["patch_size"]
        self.patch = p
        self.in_ch = cfg["in_channels"]
        self.out_ch = self.in_ch * (2 if cfg["learn_sigma"] else 1)
        self.grid = cfg["input_size"] // p
        self.x_embedder = PatchEmbed(p, self.in_ch, d)
        self.t_embedder = TimestepEmbedder(d, cfg["frequency_embedding_size"])
        self.y_embedder = LabelEmbedder(cfg["num_classes"], d, label_dropout)
        self.pos_embed = nn.Parameter(sincos_pos_embed_2d(d, self.grid).unsqueeze(0),
                                      requires_grad=False)
        self.blocks = nn.ModuleList([DiTBlock(d, cfg["num_heads"], cfg["mlp_ratio"])
                                     for _ in range(cfg["depth"])])
        self.final_layer = FinalLayer(d, p, self.out_ch)
        self._init_weights()

    def _init_weights(self):
        # adaLN-Zero: every block starts as the identity and the output starts at zero.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for blk in self.blocks:
            nn.init.zeros_(blk.adaLN_modulation[1].weight)
            nn.init.zeros_(blk.adaLN_modulation[1].bias)
        nn.init.zeros_(self.final_layer.adaLN_modulation[1].weight)
        nn.init.zeros_(self.final_layer.adaLN_modulation[1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def unpatchify(self, x):
        n, p, c, h = x.shape[0], self.patch, self.out_ch, self.grid
        x = x.reshape(n, h, h, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(n, c, h * p, h * p)

    def forward(self, x, t, y):
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y)
        for blk in self.blocks:
            x = blk(x, c)
        return self.unpatchify(self.final_layer(x, c))


def config_json(cfg):
    return json.dumps(cfg, separators=(",", ":"))


def linear_alphas_cumprod(schedule=SCHEDULE):
    betas = torch.linspace(schedule["beta_start"], schedule["beta_end"], schedule["steps"],
                           dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


@torch.no_grad()
def ddim_sample(model, noise, labels, cfg_scale, steps=50, null_class=10):
    """Deterministic DDIM (eta = 0) with classifier-free guidance.

    Timesteps: round(linspace(999, 0, steps)). At each step: eps = eps_u + s*(eps_c - eps_u);
    x0 = (x - sqrt(1-a_t)*eps)/sqrt(a_t), clipped to [-1, 1]; eps recomputed from the clipped
    x0; x = sqrt(a_prev)*x0 + sqrt(1-a_prev)*eps, with a_prev = 1 after the last step.
    """
    ab = linear_alphas_cumprod().to(noise.device)
    ts = torch.linspace(999, 0, steps, dtype=torch.float64).round().long().tolist()
    x = noise.float()
    n = x.shape[0]
    null = torch.full_like(labels, null_class)
    for i, t in enumerate(ts):
        tt = torch.full((2 * n,), t, dtype=torch.long, device=x.device)
        out = model(torch.cat([x, x]), tt, torch.cat([labels, null])).double()
        eps_c, eps_u = out[:n], out[n:]
        eps = eps_u + cfg_scale * (eps_c - eps_u)
        a_t = ab[t]
        a_prev = ab[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, dtype=torch.float64)
        xd = x.double()
        x0 = ((xd - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
        eps = (xd - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        x = (a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps).float()
    return x


class DigitClassifier(nn.Module):
    """MLP on flattened 16x16 images in [-1, 1]; post-ReLU fc1 output = Fréchet features."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x):
        return F.relu(self.fc1(x.reshape(x.shape[0], -1)))

    def forward(self, x):
        return self.fc2(self.features(x))
