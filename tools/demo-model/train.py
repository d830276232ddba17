"""Trains Nibble's bundled demo model and writes its files.

  python3 train.py --out OUT_DIR [--time-budget 300] [--max-steps 60000] [--seed 0]

Writes to OUT_DIR: dit-digits.safetensors, classifier.safetensors, digits-real.safetensors,
reference-io.safetensors, demo-samples.png, metrics.json, train.log.
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from sklearn.datasets import load_digits

from dit import (CONFIG_KEY, DEFAULT_CONFIG, SCHEDULE, SCHEDULE_KEY, DiT, DigitClassifier,
                 config_json, ddim_sample, linear_alphas_cumprod)

LOG = None


def log(msg):
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if LOG is not None:
        LOG.write(line + "\n")
        LOG.flush()


def load_digit_images():
    """All 1797 sklearn digits as F32 [n,1,16,16] in [-1,1] (bilinear, align_corners=False)."""
    d = load_digits()
    x = torch.from_numpy(d.data.astype(np.float32)).reshape(-1, 1, 8, 8) / 16.0
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    x = x * 2.0 - 1.0
    y = torch.from_numpy(d.target.astype(np.int64))
    return x.contiguous(), y.contiguous()


def split_indices(labels, test_fraction, seed):
    """Stratified split: test_fraction of every class goes to the test set."""
    g = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        idx = np.flatnonzero(labels.numpy() == c)
        g.shuffle(idx)
        k = int(round(len(idx) * test_fraction))
        test.extend(idx[:k])
        train.extend(idx[k:])
    return torch.tensor(sorted(train)), torch.tensor(sorted(test))


def train_classifier(images, labels, device, seed, steps=4000):
    torch.manual_seed(seed)
    tr, te = split_indices(labels, 0.2, seed)
    xtr, ytr = images[tr].to(device), labels[tr].to(device)
    xte, yte = images[te].to(device), labels[te].to(device)
    clf = DigitClassifier().to(device)
    opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        idx = torch.randint(0, xtr.shape[0], (256,), device=device)
        xb = xtr[idx]
        xb = (xb + 0.15 * torch.randn_like(xb)).clamp(-1, 1)  # light noise augmentation
        loss = F.cross_entropy(clf(xb), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    clf.eval()
    with torch.no_grad():
        acc = (clf(xte).argmax(1) == yte).float().mean().item()
        train_acc = (clf(xtr).argmax(1) == ytr).float().mean().item()
    log(f"classifier: final loss {loss.item():.4f} train acc {train_acc:.4f} "
        f"test acc {acc:.4f} ({len(te)} test images)")
    return clf, acc, train_acc, len(tr), len(te)


def lr_at(step, total, peak, warmup=500, floor=0.05):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def train_dit(images, labels, device, args):
    torch.manual_seed(args.seed)
    model = DiT(DEFAULT_CONFIG, label_dropout=0.1).to(device)
    ema = DiT(DEFAULT_CONFIG).to(device)
    ema.load_state_dict(model.state_dict())
    ema.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    ema_params = [p for n, p in ema.named_parameters() if n != "pos_embed"]
    assert len(params) == len(ema_params)
    log(f"DiT parameters: {sum(p.numel() for p in params):,}")
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0, betas=(0.9, 0.999),
                            fused=(device.type == "cuda"))
    ab = linear_alphas_cumprod().float().to(device)
    sqrt_ab, sqrt_1mab = ab.sqrt(), (1 - ab).sqrt()
    x_all, y_all = images.to(device), labels.to(device)
    n = x_all.shape[0]
    b = args.batch
    total = args.max_steps
    t0 = time.time()
    step = 0
    t_mark = t0
    window_sum, window_n, window_mean = torch.zeros((), device=device), 0, float("nan")
    while step < total:
        lr = lr_at(step, total, args.lr)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, n, (b,), device=device)
        x0, y = x_all[idx], y_all[idx]
        t = torch.randint(0, 1000, (b,), device=device)
        noise = torch.randn_like(x0)
        xt = sqrt_ab[t].view(-1, 1, 1, 1) * x0 + sqrt_1mab[t].view(-1, 1, 1, 1) * noise
        loss = F.mse_loss(model(xt, t, y), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        window_sum += loss.detach()
        window_n += 1
        step += 1
        if step in (100, 300) and device.type == "cuda":
            torch.cuda.synchronize()
        if step == 100:
            t_mark = time.time()
        if step == 300:
            # Fix the step count from the measured speed (steps 100..300, after warm-up) so
            # training fits the time budget.
            per_step = (time.time() - t_mark) / 200
            left = args.time_budget - (time.time() - t0)
            total = int(min(args.max_steps, max(step + 1, step + left / per_step)))
            log(f"{per_step * 1000:.2f} ms/step -> training for {total} steps")
        if step % 2000 == 0 or step == total:
            window_mean = window_sum.item() / window_n
            log(f"step {step}/{total} mean loss (last {window_n} steps) {window_mean:.4f} "
                f"lr {lr:.2e} elapsed {time.time() - t0:.0f}s")
            window_sum.zero_()
            window_n = 0
    # Final loss of the EMA model on a fixed noisy batch set (a steadier number than one batch).
    with torch.no_grad():
        g = torch.Generator(device=device).manual_seed(123)
        losses = []
        for _ in range(20):
            idx = torch.randint(0, n, (512,), device=device, generator=g)
            x0, y = x_all[idx], y_all[idx]
            t = torch.randint(0, 1000, (512,), device=device, generator=g)
            noise = torch.randn(x0.shape, device=device, generator=g)
            xt = sqrt_ab[t].view(-1, 1, 1, 1) * x0 + sqrt_1mab[t].view(-1, 1, 1, 1) * noise
            losses.append(F.mse_loss(ema(xt, t, y), noise).item())
    ema_loss = float(np.mean(losses))
    log(f"DiT done: {step} steps in {time.time() - t0:.0f}s, mean loss of the last steps "
        f"{window_mean:.4f}, EMA eval loss {ema_loss:.4f}")
    return ema, step, window_mean, ema_loss, time.time() - t0


def frechet(a, b):
    a, b = a.double().numpy(), b.double().numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr(sqrt(s1 s2)) via the symmetric form sqrt(s1)^(1/2) s2 sqrt(s1)^(1/2)
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def evaluate_samples(ema, clf, real_images, device, scales, per_class, seed):
    results = {}
    with torch.no_grad():
        real_feat = clf.features(real_images.to(device)).cpu()
    for s in scales:
        g = torch.Generator(device=device).manual_seed(seed)
        labels = torch.arange(10, device=device).repeat_interleave(per_class)
        noise = torch.randn(labels.shape[0], 1, 16, 16, device=device, generator=g)
        x = ddim_sample(ema, noise, labels, s, steps=50)
        with torch.no_grad():
            pred = clf(x).argmax(1)
            feat = clf.features(x).cpu()
        per = [(pred[labels == c] == c).float().mean().item() for c in range(10)]
        acc = (pred == labels).float().mean().item()
        fd = frechet(feat, real_feat)
        results[str(s)] = {"accuracy": acc, "per_class": per, "frechet": fd}
        log(f"CFG {s}: sample class accuracy {acc:.4f} Frechet {fd:.3f} per class "
            + " ".join(f"{c}:{p:.2f}" for c, p in enumerate(per)))
    return results


def write_png(path, img):
    """8-bit grayscale PNG from a uint8 array (H, W), written without extra dependencies."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def sample_grid(ema, device, scale, seed, cols=8, zoom=4, pad=2):
    g = torch.Generator(device=device).manual_seed(seed)
    labels = torch.arange(10, device=device).repeat_interleave(cols)
    noise = torch.randn(labels.shape[0], 1, 16, 16, device=device, generator=g)
    x = ddim_sample(ema, noise, labels, scale, steps=50).cpu()
    px = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()[:, 0]
    cell = 16 * zoom + pad
    grid = np.full((10 * cell + pad, cols * cell + pad), 255, dtype=np.uint8)
    for i in range(px.shape[0]):
        r, c = divmod(i, cols)
        tile = np.kron(px[i], np.ones((zoom, zoom), dtype=np.uint8))
        grid[pad + r * cell: pad + r * cell + 16 * zoom, pad + c * cell: pad + c * cell + 16 * zoom] = tile
    return grid


def cpu_state(module):
    return {k: v.detach().float().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-budget", type=float, default=300.0, help="seconds of DiT training")
    ap.add_argument("--max-steps", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--ema", type=float, default=0.9995)
    ap.add_argument("--clf-steps", type=int, default=4000)
    ap.add_argument("--eval-per-class", type=int, default=100)
    ap.add_argument("--cfg-scales", default="1.5,2.5,4.0")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    LOG = open(os.path.join(args.out, "train.log"), "w")
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    log(f"torch {torch.__version__} device {device} "
        f"{torch.cuda.get_device_name(0) if device.type == 'cuda' else ''} args {vars(args)}")
    t_start = time.time()

    images, labels = load_digit_images()
    save_file({"images": images, "labels": labels},
              os.path.join(args.out, "digits-real.safetensors"),
              metadata={"nibble.digits.source": "sklearn.datasets.load_digits, /16, bilinear "
                        "8x8->16x16 align_corners=False, *2-1", "count": str(images.shape[0])})

    clf, clf_acc, clf_train_acc, n_tr, n_te = train_classifier(images, labels, device, args.seed,
                                                               args.clf_steps)
    ema, steps, last_loss, ema_loss, train_s = train_dit(images, labels, device, args)

    scales = [float(s) for s in args.cfg_scales.split(",")]
    results = evaluate_samples(ema, clf, images, device, scales, args.eval_per_class, args.seed + 1)
    best = max(scales, key=lambda s: results[str(s)]["accuracy"])
    write_png(os.path.join(args.out, "demo-samples.png"), sample_grid(ema, device, best, args.seed + 2))
    log(f"sample grid written with CFG {best}")

    # Reference inputs/outputs, computed on the CPU in float32 (no TF32, no autocast).
    ema_cpu = DiT(DEFAULT_CONFIG)
    ema_cpu.load_state_dict(cpu_state(ema))
    ema_cpu.eval()
    gen = torch.Generator().manual_seed(20261121)
    ref_x = torch.randn(8, 1, 16, 16, generator=gen)
    ref_t = torch.tensor([0, 1, 10, 250, 500, 750, 999, 37], dtype=torch.int64)
    ref_y = torch.tensor([0, 3, 7, 10, 1, 5, 9, 2], dtype=torch.int64)
    with torch.no_grad():
        ref_eps = ema_cpu(ref_x, ref_t, ref_y).contiguous()
        gpu_eps = ema(ref_x.to(device), ref_t.to(device), ref_y.to(device)).cpu()
    gpu_diff = ((gpu_eps - ref_eps).abs().max() / ref_eps.abs().max()).item()
    log(f"reference eps: max |eps| {ref_eps.abs().max().item():.4f}, "
        f"{device.type} vs cpu max rel diff {gpu_diff:.3e}")
    save_file({"x": ref_x.contiguous(), "t": ref_t, "y": ref_y, "eps": ref_eps},
              os.path.join(args.out, "reference-io.safetensors"),
              metadata={"nibble.reference": "eps = dit-digits forward(x, t, y), float32, CPU, "
                        "eval mode; y=10 is the null class", "torch": torch.__version__})

    meta = {
        CONFIG_KEY: config_json(DEFAULT_CONFIG),
        SCHEDULE_KEY: json.dumps(SCHEDULE, separators=(",", ":")),
        "nibble.dit.training": json.dumps({
            "dataset": "sklearn load_digits 1797 images 16x16", "seed": args.seed,
            "steps": steps, "batch": args.batch, "optimizer": "AdamW", "peak_lr": args.lr,
            "ema_decay": args.ema, "label_dropout": 0.1, "weights": "EMA",
            "ema_eval_loss": round(ema_loss, 5), "torch": torch.__version__,
        }, separators=(",", ":")),
        "nibble.dit.samples": json.dumps({"sampler": "DDIM eta=0, 50 steps", "cfg": best,
                                          "class_accuracy": round(results[str(best)]["accuracy"], 4)},
                                         separators=(",", ":")),
    }
    save_file(cpu_state(ema), os.path.join(args.out, "dit-digits.safetensors"), metadata=meta)
    save_file(cpu_state(clf), os.path.join(args.out, "classifier.safetensors"),
              metadata={"nibble.classifier": json.dumps({
                  "input": "flattened 16x16 image in [-1,1] (256)", "layers": "fc1 256->128, ReLU, "
                  "fc2 128->10", "features": "post-ReLU fc1 (128)", "test_accuracy": round(clf_acc, 4),
                  "train_accuracy": round(clf_train_acc, 4), "train_images": n_tr,
                  "test_images": n_te, "split": "stratified 80/20, numpy default_rng(seed)",
                  "seed": args.seed, "augmentation": "gaussian noise sigma 0.15, clamp"},
                  separators=(",", ":"))})

    metrics = {"classifier_test_accuracy": clf_acc, "classifier_train_accuracy": clf_train_acc,
               "dit_steps": steps, "dit_final_window_mean_loss": last_loss, "dit_ema_eval_loss": ema_loss,
               "dit_train_seconds": train_s, "samples": results, "grid_cfg": best,
               "reference_device_vs_cpu_rel_diff": gpu_diff, "total_seconds": time.time() - t_start,
               "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
               "torch": torch.__version__}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    log(f"all done in {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
