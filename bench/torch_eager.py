"""PyTorch eager baseline of bench/cpu-engine.js: the same objectives as segloss's fused CPU
engine, written the way PyTorch users write them (softmax, one-hot, sums; F.cross_entropy),
forward + backward with autograd, float32 on the CPU. Not part of the package.

    python bench/torch_eager.py B C H W threads iterations [names]   → one JSON line
      {"torch": version, "threads": n, "<objective>": ms, ...}  (medians; names: comma-separated, default all)
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


def sums(logits, target):
    """Softmax probabilities and the batch-pooled per-class sums I, P, G (as MONAI writes them)."""
    p = logits.softmax(1)
    g = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    dims = (0, 2, 3)
    return p, g, (p * g).sum(dims), p.sum(dims), g.sum(dims)


def focal(logits, target, gamma=2.0):
    """Mean over pixels of −(1 − p_t)^γ log p_t (MONAI's softmax_focal_loss, without its / C)."""
    logp = logits.log_softmax(1)
    g = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(logp.dtype)
    return (-(1 - logp.exp()).pow(gamma) * logp * g).sum(1).mean()


def jaccard(logits, target, smooth=1e-5):
    _, _, inter, pred, ground = sums(logits, target)
    return 1 - ((inter + smooth) / (pred + ground - inter + smooth)).mean()


def tversky_index(logits, target, alpha=0.3, beta=0.7, smooth=1e-5):
    _, _, tp, pred, ground = sums(logits, target)
    return (tp + smooth) / (tp + alpha * (pred - tp) + beta * (ground - tp) + smooth)


def sensitivity_specificity(logits, target, r=0.05, smooth=1e-5):
    p, g, _, _, _ = sums(logits, target)
    dims = (0, 2, 3)
    sq = (g - p) ** 2
    sens = (sq * g).sum(dims) / (g.sum(dims) + smooth)
    spec = (sq * (1 - g)).sum(dims) / ((1 - g).sum(dims) + smooth)
    return (r * sens + (1 - r) * spec).mean()


def topk(logits, target, k=10.0):
    """nnU-Net TopKLoss: per-pixel cross-entropy, torch.topk of the int(numel·k/100) largest, mean."""
    res = F.cross_entropy(logits, target, reduction="none")
    res, _ = torch.topk(res.view(-1), int(res.numel() * k / 100), sorted=False)
    return res.mean()


def lovasz_softmax(logits, target):
    """Berman's lovasz_softmax(softmax(z), classes='present'): pixels flattened to [P, C], then per
    present class the errors sorted with torch.sort, the Lovász gradient of the sorted ground truth
    from cumulative sums, and the dot product; mean over the classes."""
    c = logits.shape[1]
    probas = logits.softmax(1).permute(0, 2, 3, 1).reshape(-1, c)
    labels = target.reshape(-1)
    losses = []
    for k in range(c):
        fg = (labels == k).float()
        if fg.sum() == 0:
            continue
        errors = (fg - probas[:, k]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        fg_sorted = fg[perm]
        gts = fg_sorted.sum()
        intersection = gts - fg_sorted.cumsum(0)
        union = gts + (1 - fg_sorted).cumsum(0)
        jaccard = 1.0 - intersection / union
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
        losses.append(torch.dot(errors_sorted, jaccard))
    return torch.stack(losses).mean()


def combo(logits, target, alpha=0.5, beta=0.5, smooth=1e-5):
    """alpha * WCE_beta + (1 - alpha) * (1 - Dice), written as mlyg's combo_loss writes it (clip, log,
    weighted one-hot cross-entropy terms, sums), extended to K classes as the spec defines WCE_beta."""
    p, g, inter, pred, ground = sums(logits, target)
    eps = 1e-7
    pc = p.clamp(eps, 1 - eps)
    wce = -(beta * g * pc.log() + (1 - beta) * (1 - g) * (1 - pc).log()).mean()
    dice = ((2 * inter + smooth) / (pred + ground + smooth)).mean()
    return alpha * wce + (1 - alpha) * (1 - dice)


def exp_log(logits, target, w_dice=0.8, w_ce=0.2, gamma=0.3, smooth=1.0):
    """Wong's exponential logarithmic loss written as SegLossOdyssey writes its parts (softmax, one-hot
    sums, clamp, log, pow; label-frequency weights from the target), in the spec's per-class form."""
    p, g, inter, pred, ground = sums(logits, target)
    dice = (2 * inter + smooth) / (pred + ground + smooth)
    dice_part = torch.pow(-torch.log(torch.clamp(dice, 1e-6)), gamma).mean()
    freq = g.sum((0, 2, 3))
    weights = torch.sqrt(freq.sum() / freq.clamp(min=1))
    logp = logits.log_softmax(1).gather(1, target.unsqueeze(1)).squeeze(1)
    ce_part = (weights[target] * torch.pow(-logp, gamma)).mean()
    return w_dice * dice_part + w_ce * ce_part


def unified_focal(logits, target, lam=0.5, delta=0.6, gamma=0.5, eps=1e-7):
    """The asymmetric unified focal loss written as MONAI's AsymmetricUnifiedFocalLoss writes it
    (clamp, one-hot cross-entropy terms, per-image TP / FN / FP sums), for K classes."""
    p = logits.softmax(1)
    g = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    pc = torch.clamp(p, eps, 1 - eps)
    ce = -g * torch.log(pc)
    back = (1 - delta) * torch.pow(1 - pc[:, 0], gamma) * ce[:, 0]
    fore = delta * ce[:, 1:].sum(1)
    focal = (back + fore).mean()
    tp = (g * pc).sum((2, 3))
    fn = (g * (1 - pc)).sum((2, 3))
    fp = ((1 - g) * pc).sum((2, 3))
    ti = (tp + eps) / (tp + delta * fn + (1 - delta) * fp + eps)
    tversky = torch.cat([1 - ti[:, :1], (1 - ti[:, 1:]) * torch.pow(1 - ti[:, 1:], -gamma)], 1).mean()
    return lam * focal + (1 - lam) * tversky


def generalized_wasserstein_dice(logits, target):
    """Fidon's GeneralizedWassersteinDiceLoss (default weighting) with M = 1 − I, written as the
    reference computes it: M expanded to [B, C, C, N] and gathered by the label, W = Σ_c M[t, c] p_c,
    α expanded and gathered, per-image sums, mean over images."""
    b, c = logits.shape[:2]
    eps = 2.220446049250313e-16
    p = F.softmax(logits.view(b, c, -1), dim=1)  # [B, C, N]
    t = target.view(b, -1)  # [B, N]
    m = (1 - torch.eye(c, dtype=torch.float64))[None, :, :, None].expand(b, c, c, p.shape[2])
    rows = torch.gather(m, 1, t[:, None, None, :].expand(b, 1, c, t.shape[1])).squeeze(1)  # [B, C, N]
    w = (rows * p).sum(1)  # [B, N]
    alpha = torch.ones(b, c)
    alpha[:, 0] = 0
    alpha_t = torch.gather(alpha[:, :, None].expand(b, c, t.shape[1]), 1, t[:, None, :]).squeeze(1)
    tp = (alpha_t * (1 - w)).sum(1)
    den = 2 * tp + w.sum(1)
    return (1 - (2 * tp + eps) / (den + eps)).mean()


def robust_t(logits, target, theta=1.0):
    """Digital-Dermatology TLoss on each foreground class, written as the reference computes it
    (its D, λ grid and ε as tensors, ν = exp(θ) + ε, the six terms), θ a learned parameter; mean over
    the foreground classes."""
    b, c, h, w = logits.shape
    nu = torch.tensor(theta, requires_grad=True)
    eps = torch.tensor(1e-8)
    d = torch.tensor(float(h * w))
    lambdas = torch.ones(h, w)
    p = logits.softmax(1)
    g = F.one_hot(target, c).permute(0, 3, 1, 2).to(p.dtype)
    total = 0
    for k in range(1, c):
        delta = p[:, k] - g[:, k]
        nu_eps = torch.exp(nu) + eps
        first = -torch.lgamma((nu_eps + d) / 2)
        second = torch.lgamma(nu_eps / 2)
        third = -0.5 * torch.sum(lambdas + eps)
        fourth = (d / 2) * torch.log(torch.tensor(3.141592653589793))
        fifth = (d / 2) * (nu + eps)
        numerator = torch.sum(delta.pow(2) * torch.exp(lambdas + eps), dim=(1, 2))
        sixth = ((nu_eps + d) / 2) * torch.log(1 + numerator / nu_eps)
        total = total + (first + second + third + fourth + fifth + sixth).mean()
    return total / (c - 1)


def rmi(logits, target, radius=3, pool=2, lam=0.5):
    """ZJULearning/RMI RMILoss.forward_sigmoid (avg pool 2/2, radius 3, λ 0.5), written as the
    reference computes it: sigmoid BCE, avg_pool2d of p + 1e-6 and the one-hot, the R² shifted
    slices stacked, float64, covariances by matmul, torch.inverse, Cholesky log-det."""
    n, c, h, w = logits.shape
    g = F.one_hot(target, c).float()
    bce = F.binary_cross_entropy_with_logits(logits.permute(0, 2, 3, 1).reshape(-1, c), g.view(-1, c), reduction="sum")
    bce = bce / (target.numel() + 1.0)
    probs = logits.sigmoid() + 1e-6
    labels = g.permute(0, 3, 1, 2)
    labels = F.avg_pool2d(labels, kernel_size=pool, stride=pool, padding=pool // 2)
    probs = F.avg_pool2d(probs, kernel_size=pool, stride=pool, padding=pool // 2)
    nh, nw = labels.shape[2] - (radius - 1), labels.shape[3] - (radius - 1)
    la = torch.stack([labels[:, :, y:y + nh, x:x + nw] for y in range(radius) for x in range(radius)], 2)
    pr = torch.stack([probs[:, :, y:y + nh, x:x + nw] for y in range(radius) for x in range(radius)], 2)
    d = radius * radius
    la = la.reshape(n, c, d, -1).double()
    pr = pr.reshape(n, c, d, -1).double()
    eye = torch.eye(d, dtype=torch.float64)[None, None]
    la = la - la.mean(3, keepdim=True)
    pr = pr - pr.mean(3, keepdim=True)
    la_cov = la @ la.transpose(2, 3)
    pr_cov_inv = torch.inverse(pr @ pr.transpose(2, 3) + eye * 5e-4)
    la_pr = la @ pr.transpose(2, 3)
    var = la_cov - la_pr @ pr_cov_inv @ la_pr.transpose(-2, -1)
    chol = torch.linalg.cholesky(var + eye * 5e-4)
    rmi_now = 0.5 * 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1) + 1e-8).sum(-1)
    rmi_loss = (rmi_now.view(-1, c).mean(0).float() / d).sum()
    return lam * bce + (1 - lam) * rmi_loss


OBJECTIVES = {
    "topk": topk,
    "unified-focal": unified_focal,
    "exp-log": exp_log,
    "combo": combo,
    "lovasz-softmax": lovasz_softmax,
    "dice": dice,
    "cross-entropy": lambda z, t: F.cross_entropy(z, t),
    "dice+ce": lambda z, t: 0.5 * dice(z, t) + 0.5 * F.cross_entropy(z, t),
    "focal": focal,
    "log-cosh-dice": lambda z, t: torch.log(torch.cosh(dice(z, t))),
    "jaccard": jaccard,
    "tversky": lambda z, t: 1 - tversky_index(z, t).mean(),
    "focal-tversky": lambda z, t: ((1 - tversky_index(z, t)) ** 0.75).mean(),
    "sensitivity-specificity": sensitivity_specificity,
    "generalized-wasserstein-dice": generalized_wasserstein_dice,
    "robust-t": robust_t,
    "rmi": rmi,
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
    names = sys.argv[7].split(",") if len(sys.argv) > 7 else list(OBJECTIVES)
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    logits = torch.rand((b, c, h, w), generator=gen) * 6 - 3
    target = torch.randint(0, c, (b, h, w), generator=gen)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name in names:
        result[name] = median_ms(OBJECTIVES[name], logits, target, iterations)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
