"""The PyTorch side of bench/train.js: the same model (python/unet.py, python/transunet.py), data,
objective (0.5 * batch-pooled soft Dice with background, smooth 1e-5 + 0.5 * cross-entropy), SGD
(momentum 0.9, weight decay 1e-4, poly lr) and step as segloss's native trainer, timed per step
(forward, loss, backward, update, batch gather) with perf_counter; `loss.item()` ends each step,
so a GPU step is complete when it is timed. Prints one JSON line:
{"imagesPerSecond": [per measured step], "threads": n}.

  python bench/train_torch.py <model> <size> <batch> <warmup> <steps> <threads> <classes>
                              [device cpu|cuda] [precision float32|bfloat16] [channels_last 0|1]
    model: unet64 | unet32 | transunet-b16 | transunet-ti16
    bfloat16: the forward pass under torch.autocast(bfloat16), the objective in float32 (as segloss).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from transunet import TransUNet  # noqa: E402
from unet import UNet  # noqa: E402


def build(name, size, classes):
    if name.startswith("unet"):
        return UNet(1, classes, int(name[4:]))
    return TransUNet(classes, size, name.split("-")[1])


def objective(logits, target, classes):
    p = torch.softmax(logits, 1)
    g = F.one_hot(target, classes).permute(0, 3, 1, 2).to(p.dtype)
    dims = (0, 2, 3)
    dice = 1 - ((2 * (p * g).sum(dims) + 1e-5) / (p.sum(dims) + g.sum(dims) + 1e-5)).mean()
    return 0.5 * dice + 0.5 * F.cross_entropy(logits, target)


def main(name, size, batch, warmup, steps, threads, classes, device="cpu", precision="float32", channels_last="0"):
    size, batch, warmup, steps, threads, classes = map(int, (size, batch, warmup, steps, threads, classes))
    device = torch.device(device)
    bf16 = precision == "bfloat16"
    layout = torch.channels_last if channels_last == "1" else torch.contiguous_format
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n = batch * (warmup + steps)
    images = torch.rand(n, 1, size, size).to(device)
    masks = torch.randint(0, classes, (n, size, size)).to(device)
    model = build(name, size, classes).to(device, memory_format=layout).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    order = torch.randperm(n)
    rates = []
    for t in range(warmup + steps):
        start = time.perf_counter()
        idx = order[t * batch:(t + 1) * batch]
        idx = idx.to(device)
        x, y = images.index_select(0, idx).contiguous(memory_format=layout), masks.index_select(0, idx)
        for group in opt.param_groups:
            group["lr"] = 0.01 * (1 - t / (warmup + steps)) ** 0.9
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = objective(logits.float(), y, classes)
        loss.backward()
        opt.step()
        loss.item()
        if t >= warmup:
            rates.append(batch / (time.perf_counter() - start))
    print(json.dumps({"imagesPerSecond": rates, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(*sys.argv[1:])
