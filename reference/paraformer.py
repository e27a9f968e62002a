"""Para-Former as a torch.nn.Module: the reference every pfrt backend is tested against.

This is the network of docs/network.md (pfrt's own description of the authors' model) in
PyTorch. Parameter names and shapes match the authors' public training
code, so one of their state_dicts loads here with strict=True:

    to_patch_embedding.1.{weight,bias}      cls_token   pos_embedding
    paraformerbranches.branches.{i}.{2j}.norm.{weight,bias}
    paraformerbranches.branches.{i}.{2j}.fn.to_qkv.weight
    paraformerbranches.branches.{i}.{2j}.fn.to_out.0.{weight,bias}   (absent if h = 1 and d_h = D)
    paraformerbranches.branches.{i}.{2j+1}.norm.{weight,bias}
    paraformerbranches.branches.{i}.{2j+1}.fn.net.{0,3}.{weight,bias}
    mlp_head.0.{weight,bias}   mlp_head.1.{weight,bias}

A serial ViT is the same module with one branch of L blocks.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import torch
from torch import nn
import torch.nn.functional as F


@dataclasses.dataclass
class ParaFormerConfig:
    image_size: int = 28
    channels: int = 1
    patch_size: int = 4
    dim: int = 64
    heads: int = 4
    dim_head: int = 16
    mlp_dim: int = 256
    branches: int = 4
    blocks_per_branch: int = 1
    num_classes: int = 10
    pool: str = "cls"              # "cls" | "mean"
    residual: str = "normalized"   # "normalized" (authors': a + f(a), a = LN(z)) | "prenorm" (z + f(LN z))
    layernorm_eps: float = 1e-5
    gelu: str = "erf"              # "erf" | "tanh"
    merge_weights: Optional[Sequence[float]] = None  # None: plain sum (authors')
    dropout: float = 0.0
    emb_dropout: float = 0.0

    def __post_init__(self) -> None:
        positive = ("image_size", "channels", "patch_size", "dim", "heads", "dim_head", "mlp_dim",
                    "branches", "blocks_per_branch", "num_classes")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"config field '{name}' must be a positive integer, got {value!r}")
        if self.image_size % self.patch_size != 0:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {self.pool!r}")
        if self.residual not in ("normalized", "prenorm"):
            raise ValueError(f"residual must be 'normalized' or 'prenorm', got {self.residual!r}")
        if self.gelu not in ("erf", "tanh"):
            raise ValueError(f"gelu must be 'erf' or 'tanh', got {self.gelu!r}")
        if self.merge_weights is not None and len(self.merge_weights) != self.branches:
            raise ValueError(f"merge_weights has {len(self.merge_weights)} entries for {self.branches} branches")

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def tokens(self) -> int:
        return self.num_patches + 1

    @property
    def patch_dim(self) -> int:
        return self.patch_size * self.patch_size * self.channels

    @property
    def inner_dim(self) -> int:
        return self.heads * self.dim_head

    @property
    def project_out(self) -> bool:
        return not (self.heads == 1 and self.dim_head == self.dim)


class Residual(nn.Module):
    """LayerNorm followed by f, with the residual the config asks for.

    Submodules are named `norm` and `fn` as in the authors' PreNorm, so keys match.
    """

    def __init__(self, cfg: ParaFormerConfig, fn: nn.Module):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.fn = fn
        self.prenorm = cfg.residual == "prenorm"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        a = self.norm(z)
        return (z if self.prenorm else a) + self.fn(a)


class Attention(nn.Module):
    def __init__(self, cfg: ParaFormerConfig):
        super().__init__()
        self.heads = cfg.heads
        self.scale = cfg.dim_head ** -0.5
        self.to_qkv = nn.Linear(cfg.dim, 3 * cfg.inner_dim, bias=False)
        self.to_out = (nn.Sequential(nn.Linear(cfg.inner_dim, cfg.dim), nn.Dropout(cfg.dropout))
                       if cfg.project_out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (u.reshape(b, t, self.heads, -1).transpose(1, 2) for u in (q, k, v))
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, t, -1)
        return self.to_out(out)


class FeedForward(nn.Module):
    def __init__(self, cfg: ParaFormerConfig):
        super().__init__()
        approximate = "none" if cfg.gelu == "erf" else "tanh"
        self.net = nn.Sequential(nn.Linear(cfg.dim, cfg.mlp_dim), nn.GELU(approximate=approximate),
                                 nn.Dropout(cfg.dropout), nn.Linear(cfg.mlp_dim, cfg.dim),
                                 nn.Dropout(cfg.dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def make_branch(cfg: ParaFormerConfig) -> nn.Sequential:
    layers = []
    for _ in range(cfg.blocks_per_branch):
        layers += [Residual(cfg, Attention(cfg)), Residual(cfg, FeedForward(cfg))]
    return nn.Sequential(*layers)


class Branches(nn.Module):
    def __init__(self, cfg: ParaFormerConfig):
        super().__init__()
        self.branches = nn.ModuleList(make_branch(cfg) for _ in range(cfg.branches))


class PatchEmbedding(nn.Sequential):
    """Index 0 is the (parameter-free) patch gather, index 1 the Linear: keys `to_patch_embedding.1.*`."""

    class Gather(nn.Module):
        def __init__(self, patch: int):
            super().__init__()
            self.patch = patch

        def forward(self, img: torch.Tensor) -> torch.Tensor:
            # b c (h p1) (w p2) -> b (h w) (p1 p2 c): patches row-major, channel fastest inside a patch.
            b, c, height, width = img.shape
            p = self.patch
            x = img.reshape(b, c, height // p, p, width // p, p)
            return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (height // p) * (width // p), p * p * c)

    def __init__(self, cfg: ParaFormerConfig):
        super().__init__(PatchEmbedding.Gather(cfg.patch_size), nn.Linear(cfg.patch_dim, cfg.dim))


class ParaFormer(nn.Module):
    def __init__(self, cfg: ParaFormerConfig):
        super().__init__()
        self.cfg = cfg
        self.to_patch_embedding = PatchEmbedding(cfg)
        self.cls_token = nn.Parameter(torch.randn(1, 1, cfg.dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, cfg.tokens, cfg.dim))
        self.dropout = nn.Dropout(cfg.emb_dropout)
        self.paraformerbranches = Branches(cfg)
        self.mlp_head = nn.Sequential(nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps),
                                      nn.Linear(cfg.dim, cfg.num_classes))
        if cfg.merge_weights is not None:
            self.register_buffer("merge_weights", torch.tensor(list(cfg.merge_weights), dtype=torch.float32),
                                 persistent=False)
        else:
            self.merge_weights = None

    def stem(self, img: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        expected = (cfg.channels, cfg.image_size, cfg.image_size)
        if img.dim() != 4 or tuple(img.shape[1:]) != expected:
            raise ValueError(f"input must be [batch, {expected[0]}, {expected[1]}, {expected[2]}], got {list(img.shape)}")
        x = self.to_patch_embedding(img)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        return self.dropout(torch.cat((cls, x), dim=1) + self.pos_embedding)

    def head(self, y: torch.Tensor) -> torch.Tensor:
        pooled = y.mean(dim=1) if self.cfg.pool == "mean" else y[:, 0]
        return self.mlp_head(pooled)

    def forward(self, img: torch.Tensor, branches: Optional[int] = None) -> torch.Tensor:
        """Logits of the prefix of branches 1..`branches` (all by default)."""
        k = self.cfg.branches if branches is None else branches
        if not 1 <= k <= self.cfg.branches:
            raise ValueError(f"prefix of {k} branches requested, model has {self.cfg.branches}")
        x0 = self.stem(img)
        y = None
        for i in range(k):
            out = self.paraformerbranches.branches[i](x0)
            if self.merge_weights is not None:
                out = out * self.merge_weights[i]
            y = out if y is None else y + out
        return self.head(y)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_image(cfg: ParaFormerConfig, branches: Optional[int] = None) -> int:
    """Multiply-adds x 2 of the GEMMs and attention that the logits need (pfrt's operation count).

    With cls pooling only row 0 of a branch's last block is read: that block needs keys and
    values of every row, but the query, attention, projection and MLP of row 0 alone. The
    module here computes the full block; the count credits only the needed part, as pfrt's does.
    """
    k = cfg.branches if branches is None else branches
    t, d, inner = cfg.tokens, cfg.dim, cfg.inner_dim

    def block(queries: int) -> int:
        ops = 2 * t * d * 2 * inner + 2 * queries * d * inner + 2 * 2 * queries * t * inner
        ops += 2 * queries * inner * d if cfg.project_out else 0
        return ops + 2 * 2 * queries * d * cfg.mlp_dim

    last = block(1 if cfg.pool == "cls" else t)
    stem = 2 * cfg.num_patches * cfg.patch_dim * d
    head = 2 * d * cfg.num_classes
    return stem + k * ((cfg.blocks_per_branch - 1) * block(t) + last) + head
