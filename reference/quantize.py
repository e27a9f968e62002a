"""f16 and int8 fake-quantisation of a Para-Former: what pfrt computes for `pfrt-convert
--precision f16|int8` models, in PyTorch, so their parity is checked as the f32 model's is.

Every nn.Linear of the network is a GEMM weight (stem patch projection, QKV, output projection,
fc1, fc2, head); LayerNorm, biases and embeddings stay f32. The int8 contract (README,
"int8 and f16 models"):
  weights      s_w[n] = max_k |W[n][k]| / 127 (1 for a zero row);
               q_w = clamp(round_half_even(W / s_w), -127, 127)            (f32 division)
  activations  per row at run time: s_x[r] = max_k |x[r][k]| / 127 (0 for a zero row);
               q_x = clamp(round_half_even(x * (127 / max_k |x[r][k]|)), -127, 127)
  GEMM         acc = q_x q_w^T (exact: float32 or float64 here, int32 in pfrt)
               y = float(acc) * (s_x[r] * s_w[n]) + b[n]                  (f32, in this order)
f16: the GEMM weights rounded to binary16 (nearest, ties to even) and used as f32.
"""
import copy
from typing import Tuple

import torch
from torch import nn

PRECISIONS = ("f32", "f16", "int8")


def quantize_weight(w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel int8 of an [out, in] f32 weight: (q as float32, scales [out])."""
    w = w.detach().float()
    amax = w.abs().amax(dim=1)
    scale = torch.where(amax == 0, torch.ones_like(amax), amax / 127.0)
    q = torch.round(w / scale[:, None]).clamp(-127, 127)
    return q, scale


def quantize_rows(x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Dynamic per-row int8 of x [..., in]: (q as float32, scales [..., 1])."""
    amax = x.abs().amax(dim=-1, keepdim=True)
    zero = amax == 0
    inv = torch.full_like(amax, 127.0) / torch.where(zero, torch.ones_like(amax), amax)
    q = torch.where(zero, torch.zeros_like(x), torch.round(x * inv).clamp(-127, 127))
    scale = torch.where(zero, torch.zeros_like(amax), amax / 127.0)
    return q, scale


def exact_int_matmul(q_x: torch.Tensor, q_w: torch.Tensor) -> torch.Tensor:
    """q_x q_w^T of int8 values held as floats, exactly (pfrt's int32 sums): in float32 when
    every partial sum is an integer of at most K * 127^2 <= 2^24 (exact in float32 whatever the
    order of the additions), else in float64."""
    if q_x.shape[-1] * 127 * 127 <= 2 ** 24:
        return torch.matmul(q_x, q_w.t())
    return torch.matmul(q_x.double(), q_w.double().t()).float()


class Int8Linear(nn.Module):
    """An nn.Linear computed as pfrt's int8 GEMM (fake-quant: exact sums in float64)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        q, scale = quantize_weight(linear.weight)
        self.register_buffer("q_weight", q)
        self.register_buffer("weight_scale", scale)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, s_x = quantize_rows(x.float())
        acc = exact_int_matmul(q, self.q_weight)
        y = acc * (s_x * self.weight_scale)
        return y if self.bias is None else y + self.bias


def fake_quantize(model: nn.Module, precision: str) -> nn.Module:
    """A copy of `model` whose nn.Linear layers compute as pfrt does at `precision`."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision '{precision}': expected one of {', '.join(PRECISIONS)}")
    model = copy.deepcopy(model)
    if precision == "f32":
        return model
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, nn.Linear):
                continue
            if precision == "f16":
                with torch.no_grad():
                    child.weight.copy_(child.weight.half().float())
            else:
                setattr(parent, name, Int8Linear(child))
    return model
