"""PyTorch eager baseline of bench/cpu-engine.js: the same objectives as segloss's fused CPU
engine, written the way PyTorch users write them (softmax, one-hot, sums; F.cross_entropy),
forward + backward with autograd, float32 on the CPU. Not part of the package.

    python bench/torch_eager.py B C H W threads iterations   → one JSON line
      {"torch": version, "threads": n, "dice": ms, "cross-entropy": ms, "dice+ce": ms}  (medians)
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def dice(logits, target, smooth=1e-5):
    """1 − mean_c (2 I_c + s) / (P_c + G_c + s), sums pooled over the batch (segloss's default)."""
    p = logits.softmax(1)
    g = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    dims = (0, 2, 3)
    inter = (p * g).sum(dims)
    den = p.sum(dims) + g.sum(dims)
    return 1 - ((2 * inter + smooth) / (den + smooth)).mean()


OBJECTIVES = {
    "dice": dice,
    "cross-entropy": lambda z, t: F.cross_entropy(z, t),
    "dice+ce": lambda z, t: 0.5 * dice(z, t) + 0.5 * F.cross_entropy(z, t),
}


def median_ms(objective, logits, target, iterations):
    times = []
    for i in range(iterations + 2):
        leaf = logits.detach().requires_grad_(True)
        start = time.perf_counter()
        objective(leaf, target).backward()
        elapsed = (time.perf_counter() - start) * 1e3
        if i >= 2:
            times.append(elapsed)
    times.sort()
    return times[len(times) // 2]


def main():
    b, c, h, w, threads, iterations = (int(a) for a in sys.argv[1:7])
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    logits = torch.rand((b, c, h, w), generator=gen) * 6 - 3
    target = torch.randint(0, c, (b, h, w), generator=gen)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, objective in OBJECTIVES.items():
        result[name] = median_ms(objective, logits, target, iterations)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
