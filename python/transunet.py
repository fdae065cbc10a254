"""The PyTorch module equivalent to segloss's native TransUNet (native/torch/models/transunet.h):
R50-ViT-B/16 of Chen et al. 2021 ("TransUNet: Transformers Make Strong Encoders for Medical Image
Segmentation"), condensed from Beckschen/TransUNet networks/vit_seg_modeling*.py with the same module
names, so state dicts move between the two. `load_npz` is the reference's `load_from` for the
published R50+ViT-B_16.npz layout (the position-embedding grid resized linearly, corners aligned,
as scipy.ndimage.zoom(order=1)).

    model = TransUNet(num_classes=9, img_size=224)   # 105,277,081 parameters
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"b16": (768, 12, 12, 3072), "s16": (384, 12, 6, 1536), "ti16": (192, 12, 3, 768)}  # hidden, layers, heads, mlp


def np2th(weights, conv=False):
    if conv:
        weights = weights.transpose([3, 2, 0, 1])
    return torch.from_numpy(np.ascontiguousarray(weights))


class StdConv2d(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        v, m = torch.var_mean(w, dim=[1, 2, 3], keepdim=True, unbiased=False)
        w = (w - m) / torch.sqrt(v + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


def conv3x3(cin, cout, stride=1):
    return StdConv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return StdConv2d(cin, cout, kernel_size=1, stride=stride, padding=0, bias=False)


class PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, cmid, stride=1):
        super().__init__()
        self.gn1 = nn.GroupNorm(32, cmid, eps=1e-6)
        self.conv1 = conv1x1(cin, cmid)
        self.gn2 = nn.GroupNorm(32, cmid, eps=1e-6)
        self.conv2 = conv3x3(cmid, cmid, stride)
        self.gn3 = nn.GroupNorm(32, cout, eps=1e-6)
        self.conv3 = conv1x1(cmid, cout)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or cin != cout:
            self.downsample = conv1x1(cin, cout, stride)
            self.gn_proj = nn.GroupNorm(cout, cout)

    def forward(self, x):
        residual = x
        if hasattr(self, "downsample"):
            residual = self.gn_proj(self.downsample(x))
        y = self.relu(self.gn1(self.conv1(x)))
        y = self.relu(self.gn2(self.conv2(y)))
        y = self.gn3(self.conv3(y))
        return self.relu(residual + y)

    def load_npz(self, w, prefix):
        def conv(name):
            return np2th(w[f"{prefix}/{name}/kernel"], conv=True)

        def gn(name):
            return np2th(w[f"{prefix}/{name}/scale"]).view(-1), np2th(w[f"{prefix}/{name}/bias"]).view(-1)

        with torch.no_grad():
            for i in (1, 2, 3):
                getattr(self, f"conv{i}").weight.copy_(conv(f"conv{i}"))
                s, b = gn(f"gn{i}")
                getattr(self, f"gn{i}").weight.copy_(s)
                getattr(self, f"gn{i}").bias.copy_(b)
            if hasattr(self, "downsample"):
                self.downsample.weight.copy_(conv("conv_proj"))
                s, b = gn("gn_proj")
                self.gn_proj.weight.copy_(s)
                self.gn_proj.bias.copy_(b)


class ResNetV2(nn.Module):
    def __init__(self, block_units=(3, 4, 9), width=64):
        super().__init__()
        self.width = width
        self.root = nn.Sequential()
        self.root.add_module("conv", StdConv2d(3, width, kernel_size=7, stride=2, bias=False, padding=3))
        self.root.add_module("gn", nn.GroupNorm(32, width, eps=1e-6))
        self.root.add_module("relu", nn.ReLU(inplace=True))
        self.body = nn.Sequential()
        specs = [(width, width * 4, width, 1), (width * 4, width * 8, width * 2, 2), (width * 8, width * 16, width * 4, 2)]
        for b, ((cin, cout, cmid, stride), units) in enumerate(zip(specs, block_units), start=1):
            block = nn.Sequential()
            block.add_module("unit1", PreActBottleneck(cin, cout, cmid, stride))
            for u in range(2, units + 1):
                block.add_module(f"unit{u}", PreActBottleneck(cout, cout, cmid))
            self.body.add_module(f"block{b}", block)

    def forward(self, x):
        features = []
        b, _, in_size, _ = x.size()
        x = self.root(x)
        features.append(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=0)
        for i in range(len(self.body) - 1):
            x = self.body[i](x)
            right = int(in_size / 4 / (i + 1))
            if x.size(2) != right:
                feat = torch.zeros((b, x.size(1), right, right), device=x.device, dtype=x.dtype)
                feat[:, :, : x.size(2), : x.size(3)] = x
            else:
                feat = x
            features.append(feat)
        return self.body[-1](x), features[::-1]


class Attention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, x):
        b, n, c = x.shape

        def split(t):
            return t.view(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c // self.heads)
        context = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(b, n, c)
        return self.out(context)


class Mlp(nn.Module):
    def __init__(self, hidden, mlp, dropout):
        super().__init__()
        self.fc1 = nn.Linear(hidden, mlp)
        self.fc2 = nn.Linear(mlp, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(F.gelu(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, hidden, heads, mlp, dropout):
        super().__init__()
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-6)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-6)
        self.ffn = Mlp(hidden, mlp, dropout)
        self.attn = Attention(hidden, heads)

    def forward(self, x):
        x = x + self.attn(self.attention_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class Embeddings(nn.Module):
    def __init__(self, img_size, hidden, dropout):
        super().__init__()
        self.hybrid_model = ResNetV2()
        self.patch_embeddings = nn.Conv2d(self.hybrid_model.width * 16, hidden, kernel_size=1, stride=1)
        self.position_embeddings = nn.Parameter(torch.zeros(1, (img_size // 16) ** 2, hidden))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x, features = self.hybrid_model(x)
        x = self.patch_embeddings(x).flatten(2).transpose(-1, -2)
        return self.dropout(x + self.position_embeddings), features


class Encoder(nn.Module):
    def __init__(self, hidden, layers, heads, mlp, dropout):
        super().__init__()
        self.layer = nn.ModuleList([Block(hidden, heads, mlp, dropout) for _ in range(layers)])
        self.encoder_norm = nn.LayerNorm(hidden, eps=1e-6)

    def forward(self, x):
        for block in self.layer:
            x = block(x)
        return self.encoder_norm(x)


class Transformer(nn.Module):
    def __init__(self, img_size, hidden, layers, heads, mlp, dropout):
        super().__init__()
        self.embeddings = Embeddings(img_size, hidden, dropout)
        self.encoder = Encoder(hidden, layers, heads, mlp, dropout)

    def forward(self, x):
        x, features = self.embeddings(x)
        return self.encoder(x), features


def conv2d_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    def __init__(self, cin, cout, skip):
        super().__init__()
        self.conv1 = conv2d_relu(cin + skip, cout)
        self.conv2 = conv2d_relu(cout, cout)

    def forward(self, x, skip=None):
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class DecoderCup(nn.Module):
    def __init__(self, hidden, decoder=(256, 128, 64, 16), skips=(512, 256, 64, 0)):
        super().__init__()
        self.conv_more = conv2d_relu(hidden, 512)
        ins = [512] + list(decoder[:-1])
        self.blocks = nn.ModuleList([DecoderBlock(i, o, s) for i, o, s in zip(ins, decoder, skips)])
        self.n_skip = sum(1 for s in skips if s)

    def forward(self, x, features):
        b, n, c = x.shape
        side = int(math.isqrt(n))
        x = self.conv_more(x.permute(0, 2, 1).contiguous().view(b, c, side, side))
        for i, block in enumerate(self.blocks):
            x = block(x, features[i] if i < self.n_skip else None)
        return x


class TransUNet(nn.Module):
    def __init__(self, num_classes=9, img_size=224, preset="b16", dropout=0.1, **overrides):
        super().__init__()
        hidden, layers, heads, mlp = PRESETS[preset]
        hidden, layers = overrides.get("hidden", hidden), overrides.get("layers", layers)
        heads, mlp = overrides.get("heads", heads), overrides.get("mlp", mlp)
        self.transformer = Transformer(img_size, hidden, layers, heads, mlp, dropout)
        self.decoder = DecoderCup(hidden)
        self.segmentation_head = nn.Sequential(nn.Conv2d(16, num_classes, 3, padding=1), nn.Identity())

    def forward(self, x):
        if x.size(1) == 1:
            x = x.repeat(1, 3, 1, 1)
        x, features = self.transformer(x)
        return self.segmentation_head(self.decoder(x, features))

    def load_npz(self, w):
        """The reference's VisionTransformer.load_from for the R50+ViT-B_16.npz key layout."""
        e = self.transformer.embeddings
        with torch.no_grad():
            e.patch_embeddings.weight.copy_(np2th(w["embedding/kernel"], conv=True))
            e.patch_embeddings.bias.copy_(np2th(w["embedding/bias"]))
            enc = self.transformer.encoder
            enc.encoder_norm.weight.copy_(np2th(w["Transformer/encoder_norm/scale"]))
            enc.encoder_norm.bias.copy_(np2th(w["Transformer/encoder_norm/bias"]))
            posemb = np2th(w["Transformer/posembed_input/pos_embedding"])
            new = e.position_embeddings
            if posemb.size() == new.size():
                new.copy_(posemb)
            elif posemb.size(1) - 1 == new.size(1):
                new.copy_(posemb[:, 1:])
            else:
                grid = posemb[0, 1:]
                old, side = int(math.isqrt(grid.size(0))), int(math.isqrt(new.size(1)))
                grid = grid.reshape(old, old, -1).permute(2, 0, 1).unsqueeze(0)
                grid = F.interpolate(grid, size=(side, side), mode="bilinear", align_corners=True)
                new.copy_(grid[0].permute(1, 2, 0).reshape(1, side * side, -1))
            c = new.size(2)
            for i, block in enumerate(enc.layer):
                p = f"Transformer/encoderblock_{i}"
                a = f"{p}/MultiHeadDotProductAttention_1"
                for name in ("query", "key", "value"):
                    getattr(block.attn, name).weight.copy_(np2th(w[f"{a}/{name}/kernel"]).view(c, c).t())
                    getattr(block.attn, name).bias.copy_(np2th(w[f"{a}/{name}/bias"]).view(-1))
                block.attn.out.weight.copy_(np2th(w[f"{a}/out/kernel"]).view(c, c).t())
                block.attn.out.bias.copy_(np2th(w[f"{a}/out/bias"]).view(-1))
                block.ffn.fc1.weight.copy_(np2th(w[f"{p}/MlpBlock_3/Dense_0/kernel"]).t())
                block.ffn.fc1.bias.copy_(np2th(w[f"{p}/MlpBlock_3/Dense_0/bias"]))
                block.ffn.fc2.weight.copy_(np2th(w[f"{p}/MlpBlock_3/Dense_1/kernel"]).t())
                block.ffn.fc2.bias.copy_(np2th(w[f"{p}/MlpBlock_3/Dense_1/bias"]))
                block.attention_norm.weight.copy_(np2th(w[f"{p}/LayerNorm_0/scale"]))
                block.attention_norm.bias.copy_(np2th(w[f"{p}/LayerNorm_0/bias"]))
                block.ffn_norm.weight.copy_(np2th(w[f"{p}/LayerNorm_2/scale"]))
                block.ffn_norm.bias.copy_(np2th(w[f"{p}/LayerNorm_2/bias"]))
            r = e.hybrid_model
            r.root.conv.weight.copy_(np2th(w["conv_root/kernel"], conv=True))
            r.root.gn.weight.copy_(np2th(w["gn_root/scale"]).view(-1))
            r.root.gn.bias.copy_(np2th(w["gn_root/bias"]).view(-1))
            for bname, block in r.body.named_children():
                for uname, unit in block.named_children():
                    unit.load_npz(w, f"{bname}/{uname}")
