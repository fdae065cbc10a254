"""PyTorch eager baseline of bench/conditional-boundary.js: conditional-boundary computed the way
the released CBL code computes it (written here from its algorithm, not copied): the band by
per-image, per-class iterated 3×3 erosion of a zero-padded mask; the A2C terms with, per class
present, two depthwise 5×5 convolutions over the D feature channels (neighbour sums), masks and
gathers, the 1×1 classifier and F.cross_entropy / F.mse_loss; the A2P&N term with, per image,
F.cosine_similarity for each of the 24 shifts; forward + backward by autograd, float32, CPU.
Not part of the package.

    python bench/conditional_boundary_eager.py DIR threads iterations   → one JSON line
      DIR holds meta.json {B, C, D, H, W, ratio, weights} and logits.f32, features.f32,
      weight.f32, bias.f32, labels.i64 written by bench/conditional-boundary.js
      {"torch": version, "threads": n, "ms": [...], "value": v}
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HALF = 2  # the 5×5 window


def band_of(labels, ratio):
    """[B, H, W] bool: pixels within Chebyshev distance w of another label or the edge."""
    B, H, W = labels.shape
    w = max(1, int(round(ratio * math.sqrt(H * H + W * W))))
    band = torch.zeros_like(labels, dtype=torch.bool)
    for b in range(B):
        for c in labels[b].unique().tolist():
            m = (labels[b] == c).float()[None, None]
            padded = F.pad(m, (1, 1, 1, 1), value=0.0)
            for _ in range(w):  # 3×3 erosion, w times (max-pool of the complement)
                padded = 1 - F.max_pool2d(1 - padded, 3, stride=1, padding=1)
                padded[..., 0, :] = 0; padded[..., -1, :] = 0; padded[..., :, 0] = 0; padded[..., :, -1] = 0
            band[b] |= (m[0, 0] > 0) & (padded[0, 0, 1:-1, 1:-1] == 0)
    return band


def neighbour_sum(x, channels):
    kernel = torch.ones(channels, 1, 5, 5, dtype=x.dtype)
    kernel[:, :, 2, 2] = 0
    return F.conv2d(x, kernel, padding=2, groups=channels)


def cbl(features, labels, logits, weight, bias, band, weights):
    B, D, H, W = features.shape
    C = logits.shape[1]
    pred = logits.argmax(1)
    onehot = F.one_hot(labels, C).permute(0, 3, 1, 2).float()
    pred_onehot = F.one_hot(pred, C).permute(0, 3, 1, 2).float()
    nce = features.new_zeros(()); cn = features.new_zeros(()); counted = 0
    for k in labels.unique().tolist():
        m = onehot[:, k:k + 1]; mc = m * pred_onehot[:, k:k + 1]
        n = neighbour_sum(m, 1); nc = neighbour_sum(mc, 1)
        s = (n[:, 0] >= 1) & band & (m[:, 0] > 0)
        t = (nc[:, 0] >= 1) & band & (mc[:, 0] > 0)
        if s.sum() < 1 or t.sum() < 1:
            continue
        mean = neighbour_sum(features * m, D) / (n + 1e-5)
        mean_c = neighbour_sum(features * mc, D) / (nc + 1e-5)
        a = mean.permute(0, 2, 3, 1)[s]
        out = a @ weight.t() + bias
        nce = nce + F.cross_entropy(out, torch.full((a.shape[0],), k, dtype=torch.long))
        cn = cn + F.mse_loss(features.permute(0, 2, 3, 1)[t], mean_c.permute(0, 2, 3, 1)[t].detach())
        counted += 1
    if counted:
        nce = nce / counted; cn = cn / counted
    ctx = features.new_zeros(()); images = 0
    for b in range(B):
        anchors = band[b] & (labels[b] > 0)
        if anchors.sum() < 1:
            continue
        images += 1
        ys, xs = torch.where(anchors)
        keep = (ys >= HALF) & (ys < H - HALF) & (xs >= HALF) & (xs < W - HALF)
        ys, xs = ys[keep], xs[keep]
        f = features[b].permute(1, 2, 0)
        term = features.new_zeros(())
        for dy in range(-HALF, HALF + 1):
            for dx in range(-HALF, HALF + 1):
                if dy == 0 and dx == 0:
                    continue
                cos = F.cosine_similarity(f[ys, xs], f[ys + dy, xs + dx], dim=1)
                same = (labels[b][ys, xs] == labels[b][ys + dy, xs + dx]).float()
                term = term + F.mse_loss(cos, same)
        ctx = ctx + term / 24
    if images:
        ctx = ctx / images
    return weights[0] * ctx + weights[1] * nce + weights[2] * cn


def main():
    folder, threads, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    meta = json.load(open(os.path.join(folder, 'meta.json')))
    B, C, D, H, W = (meta[k] for k in 'BCDHW')
    read = lambda name, dtype, shape: torch.from_numpy(np.fromfile(os.path.join(folder, name), dtype=dtype).reshape(shape))
    logits = read('logits.f32', np.float32, (B, C, H, W))
    features0 = read('features.f32', np.float32, (B, D, H, W))
    weight = read('weight.f32', np.float32, (C, D)).requires_grad_(True)
    bias = read('bias.f32', np.float32, (C,)).requires_grad_(True)
    labels = read('labels.i64', np.int64, (B, H, W))
    times, value = [], None
    for it in range(iterations + 1):
        features = features0.clone().requires_grad_(True)
        start = time.perf_counter()
        band = band_of(labels, meta['ratio'])  # the reference computes it per image in its data pipeline
        loss = cbl(features, labels, logits, weight, bias, band, meta['weights'])
        loss.backward()
        elapsed = (time.perf_counter() - start) * 1000
        if it > 0:
            times.append(elapsed)  # the first run warms up
        value = float(loss.detach())
    print(json.dumps({'torch': torch.__version__, 'threads': threads, 'ms': times, 'value': value}))


if __name__ == '__main__':
    main()
