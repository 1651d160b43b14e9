"""Calibrate a trained model's "not a digit" threshold (see digitpad/core/not_digit.py).

The threshold is the digit score (logsumexp of the logits) below which ``cfg.not_digit_rate``
of real digits fall: the UNIPEN 1a *calibration* writers (``unipen.CALIB_WRITERS``: held out
from training, and not the benchmark's dev writers), each digit drawn with the numpy
rasteriser three times, with a thin, the app's and a thick pen (12, 30 and 45 px on the
400 px canvas). The share of MNIST test digits it flags is measured and kept beside it.

Which runs get a threshold: those trained with non-digits (``--nondigits``), which is what
makes the score separate digits from non-digits. A run started from a model that has one
(fine-tuning ``--init``) is calibrated again when the calibration writers are at hand, and
otherwise keeps its starting model's threshold, marked as inherited.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from digitpad.core import not_digit
from digitpad.core.handwriting import raster, unipen
from digitpad.core.paths import RunFiles

from . import data
from .config import PHOTO_DATASETS, TrainConfig

PENS = (12.0, 30.0, 45.0)


def calibration_inputs(data_dir) -> np.ndarray:
    """[N, 1, 28, 28] float32: the calibration writers' digits, once per pen in PENS; empty
    without a UNIPEN copy in the data folder."""
    digits = data.real_writer_digits(data_dir, splits=("calib",))
    xs = []
    for d in digits:
        for k, pen in enumerate(PENS):
            x = raster.model_input(unipen.drawing(d, np.random.default_rng([0xCA11B, d.line, k]), pen=pen))
            if x is not None:
                xs.append(x[0])
    return np.stack(xs).astype(np.float32) if xs else np.zeros((0, 1, 28, 28), np.float32)


@torch.no_grad()
def digit_scores(model: torch.nn.Module, xs: np.ndarray, batch: int = 1000) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(xs), batch):
        logits = model(torch.from_numpy(np.ascontiguousarray(xs[i:i + batch])).to(device)).float().cpu().numpy()
        out.append(not_digit.digit_score(logits))
    return np.concatenate(out) if out else np.zeros(0)


def inherited_rule(init: str | None) -> dict[str, Any] | None:
    """The not_digit field of the model a fine-tune starts from (the .onnx beside its checkpoint)."""
    if not init:
        return None
    onnx_path = RunFiles.of(init).model
    if not onnx_path.is_file():
        return None
    try:
        from digitpad.core.contract import METADATA_KEY, ModelMetadata
        from digitpad.core.modelfile import read_metadata_props

        meta = ModelMetadata.from_json(read_metadata_props(onnx_path)[METADATA_KEY])
    except (OSError, ValueError, KeyError):  # no metadata, or a file that does not parse: nothing to inherit
        return None
    rule = not_digit.from_metadata(meta)
    return rule.to_metadata() if rule else None


def calibrate(model: torch.nn.Module, cfg: TrainConfig, test_images: np.ndarray | None, log) -> dict[str, Any] | None:
    """The ``not_digit`` metadata field for this run's model, or None (see the module docstring).
    Photos (CIFAR-10, a folder of pictures) have no "not a digit": never for them."""
    if cfg.dataset in PHOTO_DATASETS:
        return None
    inherited = inherited_rule(cfg.init)
    if not cfg.nondigits and inherited is None:
        return None
    xs = calibration_inputs(cfg.data_dir)
    if not len(xs):
        if inherited is None:
            log("no UNIPEN 1a calibration writers in the data folder: the model gets no not-a-digit threshold")
            return None
        log("no UNIPEN 1a calibration writers in the data folder: keeping the starting model's not-a-digit threshold")
        cal = dict(inherited.get("calibration") or {})
        cal["inherited_from"] = Path(cfg.init).name
        return {**inherited, "calibration": cal}
    scores = digit_scores(model, xs)
    threshold = not_digit.calibrate(scores, cfg.not_digit_rate)
    cal: dict[str, Any] = {
        "on": f"UNIPEN 1a calibration writers ({len(unipen.CALIB_WRITERS)}), numpy rasteriser, pens {list(PENS)} px",
        "n": int(len(scores)), "target_rate": cfg.not_digit_rate,
        "flagged": float(np.mean(scores < threshold)),
    }
    if test_images is not None and len(test_images):
        test = digit_scores(model, (test_images.astype(np.float32) / 255.0)[:, None])
        cal["mnist_test_flagged"] = float(np.mean(test < threshold))
    log(f"not-a-digit threshold {threshold:.3f} (digit score, logsumexp of the logits): flags "
        f"{cal['flagged']:.2%} of {cal['n']} calibration digits"
        + (f", {cal['mnist_test_flagged']:.2%} of MNIST test" if "mnist_test_flagged" in cal else ""))
    return not_digit.NotDigitRule(threshold, not_digit.SCORE, cal).to_metadata()
