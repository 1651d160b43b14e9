"""``--precision``: the dtype the training steps compute in (``torch.autocast``).

Weights, optimiser state, checkpoints and exported models stay float32 in every case: autocast
only runs the convolutions and matrix products in a lower precision. On CPUs with AMX-BF16
(oneDNN's native bfloat16), small conv nets at 32x32 trained 3-7x faster in bfloat16 than in
float32 here; a CPU without native bfloat16 emulates it and is slower than float32, so ``auto``
keeps float32 there. bfloat16 has float32's exponent range, so no loss scaling is needed; a CUDA
GPU without bfloat16 gets float16 with a gradient scaler.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Precision:
    dtype: torch.dtype | None      # None: float32, no autocast
    device_type: str               # "cpu" | "cuda"
    note: str = ""                 # one line for the log when the choice is not what was asked

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self):
        """The context a step's forward pass and loss run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self):
        """A gradient scaler for float16 (whose small range underflows gradients), else None. On the
        precision's own device: a CUDA one on a CPU would disable itself (the tests run this path on CPUs)."""
        return torch.amp.GradScaler(self.device_type) if self.dtype is torch.float16 else None


def cpu_has_native_bf16() -> bool:
    """oneDNN's own answer: AVX512-BF16 or AMX-BF16 on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve(asked: str, device: torch.device) -> Precision:
    """``asked`` (fp32 | bf16 | auto) on ``device``: what the steps will compute in."""
    if asked == "fp32":
        return Precision(None, device.type)
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, "cuda")
        return Precision(torch.float16, "cuda", "this GPU has no bfloat16: training in float16 with loss scaling")
    if cpu_has_native_bf16():
        return Precision(torch.bfloat16, "cpu")
    if asked == "auto":
        return Precision(None, "cpu", "--precision auto: this CPU has no native bfloat16 (AVX512-BF16 or AMX), "
                                      "so training runs in float32")
    return Precision(torch.bfloat16, "cpu", "--precision bf16: this CPU has no native bfloat16, so it is emulated "
                                            "and slower than float32")
