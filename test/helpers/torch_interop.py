"""Python side of the trainer's interop tests (test/trainer.test.ts, test/models.test.ts), run with
the venv's torch. Each command prints one JSON line.

  inspect <checkpoint> <in> <classes> <base>     torch.load (weights_only=True) and load the model
                                                 and optimizer into the PyTorch UNet / SGD
  equal <checkpoint a> <checkpoint b>            whether model and optimizer tensors are bit-identical
  logits <checkpoint> <images.f32> <N> <C> <H> <W> <out.f32>   eval-mode logits of the PyTorch UNet
  make <out.pt> <in> <classes> <base> <seed> <images.f32> <N> <H> <W> <out.f32>
                                                 a seeded PyTorch UNet: its state dict (a plain dict,
                                                 BatchNorm statistics perturbed) and its logits
  ordered <out.pt> <in> <classes> <base>         torch.save(model.state_dict()) as PyTorch returns
                                                 it (a collections.OrderedDict)
  vit-npz <out.npz> <hidden> <layers> <heads> <mlp> <grid> <seed>
                                                 random weights in the published R50+ViT-B_16.npz
                                                 layout (np.savez), position grid `grid`² + class token
  sgd-step <before> <after> <images.f32> <masks.u8> <N> <H> <W> <lr> <momentum> <weight decay>
                                                 one training step of the PyTorch UNet from our
                                                 checkpoint `before` (model and SGD state) on the whole
                                                 batch (0.5 batch Dice + 0.5 CE), against `after`
  transunet-logits <checkpoint> <images.f32> <N> <out.f32> [<weights.npz>]
                                                 the PyTorch TransUNet with our checkpoint's weights
                                                 (then the reference's load_from of the npz), eval logits
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from unet import UNet  # noqa: E402


def read_f32(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(shape))


def inspect(path, in_ch, classes, base):
    d = torch.load(path)  # weights_only=True: only plain containers and tensors
    model = UNet(int(in_ch), int(classes), int(base))
    missing = model.load_state_dict(d["model"], strict=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    optimizer_loaded = False
    if "momentum" in d["optimizer"]["param_groups"][0]:
        opt.load_state_dict(d["optimizer"])
        optimizer_loaded = True
    return {
        "keys": sorted(d.keys()),
        "format": d["format"],
        "epoch": d["epoch"],
        "step": d["step"],
        "modelKeys": list(d["model"].keys()),
        "pythonKeys": list(model.state_dict().keys()),
        "strictLoad": len(missing.missing_keys) == 0 and len(missing.unexpected_keys) == 0,
        "optimizerLoaded": optimizer_loaded,
        "config": d["config"],
    }


def equal(a, b):
    da, db = torch.load(a), torch.load(b)
    model = da["model"].keys() == db["model"].keys() and all(torch.equal(da["model"][k], db["model"][k]) for k in da["model"])
    sa, sb = da["optimizer"]["state"], db["optimizer"]["state"]
    optimizer = sa.keys() == sb.keys() and all(
        all(torch.equal(sa[i][k], sb[i][k]) for k in sa[i]) for i in sa)
    max_diff = max(float((da["model"][k].double() - db["model"][k].double()).abs().max()) for k in da["model"])
    return {"model": bool(model), "optimizer": bool(optimizer), "maxDiff": max_diff, "step": [da["step"], db["step"]]}


def logits(path, images, n, c, h, w, out):
    d = torch.load(path)
    cfg = d["config"]["model"]
    model = UNet(cfg["inChannels"], cfg["numClasses"], cfg["baseChannels"], cfg["bilinear"])
    model.load_state_dict(d["model"])
    model.eval()
    with torch.no_grad():
        y = model(read_f32(images, (int(n), int(c), int(h), int(w))))
    y.numpy().astype(np.float32).tofile(out)
    return {"shape": list(y.shape)}


def make(out, in_ch, classes, base, seed, images, n, h, w, logits_out):
    torch.manual_seed(int(seed))
    model = UNet(int(in_ch), int(classes), int(base))
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode uses them
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    torch.save(dict(model.state_dict()), out)
    model.eval()
    with torch.no_grad():
        y = model(read_f32(images, (int(n), int(in_ch), int(h), int(w))))
    y.numpy().astype(np.float32).tofile(logits_out)
    return {"shape": list(y.shape), "parameters": sum(p.numel() for p in model.parameters())}


def ordered(out, in_ch, classes, base):
    torch.save(UNet(int(in_ch), int(classes), int(base)).state_dict(), out)
    return {"saved": out}


def vit_npz(out, hidden, layers, heads, mlp, grid, seed):
    hidden, layers, heads, mlp, grid = int(hidden), int(layers), int(heads), int(mlp), int(grid)
    rng = np.random.default_rng(int(seed))
    w = {}

    def put(key, *shape, scale=0.05, offset=0.0):
        w[key] = (offset + scale * rng.standard_normal(shape)).astype(np.float32)

    put("embedding/kernel", 1, 1, 1024, hidden)
    put("embedding/bias", hidden)
    put("cls", 1, 1, hidden)  # unused by the segmentation model, as in the published file
    put("Transformer/posembed_input/pos_embedding", 1, 1 + grid * grid, hidden, scale=0.5)
    put("Transformer/encoder_norm/scale", hidden, offset=1.0)
    put("Transformer/encoder_norm/bias", hidden)
    d = hidden // heads
    for i in range(layers):
        p = f"Transformer/encoderblock_{i}"
        a = f"{p}/MultiHeadDotProductAttention_1"
        for name in ("query", "key", "value"):
            put(f"{a}/{name}/kernel", hidden, heads, d)
            put(f"{a}/{name}/bias", heads, d)
        put(f"{a}/out/kernel", heads, d, hidden)
        put(f"{a}/out/bias", hidden)
        put(f"{p}/MlpBlock_3/Dense_0/kernel", hidden, mlp)
        put(f"{p}/MlpBlock_3/Dense_0/bias", mlp)
        put(f"{p}/MlpBlock_3/Dense_1/kernel", mlp, hidden)
        put(f"{p}/MlpBlock_3/Dense_1/bias", hidden)
        for ln in ("LayerNorm_0", "LayerNorm_2"):
            put(f"{p}/{ln}/scale", hidden, offset=1.0)
            put(f"{p}/{ln}/bias", hidden)
    put("conv_root/kernel", 7, 7, 3, 64)
    put("gn_root/scale", 64, offset=1.0)
    put("gn_root/bias", 64)
    width, specs = 64, [(64, 256, 64, 3), (256, 512, 128, 4), (512, 1024, 256, 9)]
    for b, (cin, cout, cmid, units) in enumerate(specs, start=1):
        for u in range(1, units + 1):
            p = f"block{b}/unit{u}"
            put(f"{p}/conv1/kernel", 1, 1, cin if u == 1 else cout, cmid)
            put(f"{p}/conv2/kernel", 3, 3, cmid, cmid)
            put(f"{p}/conv3/kernel", 1, 1, cmid, cout)
            for gn, ch in (("gn1", cmid), ("gn2", cmid), ("gn3", cout)):
                put(f"{p}/{gn}/scale", ch, offset=1.0)
                put(f"{p}/{gn}/bias", ch)
            if u == 1:
                put(f"{p}/conv_proj/kernel", 1, 1, cin, cout)
                put(f"{p}/gn_proj/scale", cout, offset=1.0)
                put(f"{p}/gn_proj/bias", cout)
    np.savez(out, **w)
    return {"arrays": len(w)}


def transunet_logits(path, images, n, out, npz=None):
    from transunet import TransUNet

    d = torch.load(path)
    cfg = d["config"]["model"]
    model = TransUNet(cfg["numClasses"], cfg["imageSize"], cfg["vitPreset"], cfg["dropout"],
                      hidden=cfg["hidden"], layers=cfg["layers"], heads=cfg["heads"], mlp=cfg["mlp"])
    result = model.load_state_dict(d["model"], strict=True)
    if npz:
        model.load_npz(np.load(npz))
    model.eval()
    s = cfg["imageSize"]
    with torch.no_grad():
        y = model(read_f32(images, (int(n), cfg["inChannels"], s, s)))
    y.numpy().astype(np.float32).tofile(out)
    return {"shape": list(y.shape), "strict": not result.missing_keys and not result.unexpected_keys}


def sgd_step(before, after, images, masks, n, h, w, lr, momentum, weight_decay):
    d, e = torch.load(before), torch.load(after)
    cfg = d["config"]["model"]
    classes = cfg["numClasses"]
    model = UNet(cfg["inChannels"], classes, cfg["baseChannels"], cfg["bilinear"])
    model.load_state_dict(d["model"])
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=float(lr), momentum=float(momentum), weight_decay=float(weight_decay))
    opt.load_state_dict(d["optimizer"])
    for group in opt.param_groups:
        group["lr"] = float(lr)
    n, h, w = int(n), int(h), int(w)
    x = read_f32(images, (n, cfg["inChannels"], h, w))
    y = torch.from_numpy(np.fromfile(masks, dtype=np.uint8).reshape(n, h, w).astype(np.int64))
    logits = model(x)
    p = torch.softmax(logits, 1)
    g = torch.nn.functional.one_hot(y, classes).permute(0, 3, 1, 2).to(p.dtype)
    dims = (0, 2, 3)
    dice = 1 - ((2 * (p * g).sum(dims) + 1e-5) / (p.sum(dims) + g.sum(dims) + 1e-5)).mean()
    loss = 0.5 * dice + 0.5 * torch.nn.functional.cross_entropy(logits, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    ours = e["model"]
    worst = 0.0
    for k, v in model.state_dict().items():
        if not v.is_floating_point():
            continue
        diff = float((v.double() - ours[k].double()).abs().max())
        scale = float(v.double().abs().max()) + 1e-6
        worst = max(worst, diff / scale)
    state = opt.state_dict()["state"]
    buffers = max(float((state[i]["momentum_buffer"].double() - e["optimizer"]["state"][i]["momentum_buffer"].double()).abs().max()
                        / (float(state[i]["momentum_buffer"].double().abs().max()) + 1e-12)) for i in state)
    moved = max(float((model.state_dict()[k].double() - d["model"][k].double()).abs().max()) for k in ours if ours[k].is_floating_point())
    return {"model": worst, "buffers": buffers, "moved": moved, "loss": float(loss)}


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    print(json.dumps({"inspect": inspect, "equal": equal, "logits": logits, "make": make, "ordered": ordered,
                      "vit-npz": vit_npz, "transunet-logits": transunet_logits, "sgd-step": sgd_step}[command](*args)))
