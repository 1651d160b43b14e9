"""Export a digitpad checkpoint to ONNX keeping its BatchNormalization nodes (not folded).

    PYTHONPATH=. .venv/bin/python scripts/export_with_batch_norm.py [CKPT] OUT.onnx

The engine's export lets the ONNX optimiser fold batch norm into the conv before it (the
shipped model is exported that way, and the Arithmetic tab then says so). For looking at
batch norm with a layer's own mean, variance, gamma and beta, this writes the same trained
weights without that optimisation (the recipe of tests/core/conftest.py). CKPT defaults to
the shipped model's checkpoint. Uses torch: run it apart from the app.
"""
from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    import torch

    from digitpad.core.paths import shipped_model_path
    from training import checkpoint, export, models
    from training.config import TrainConfig

    ckpt_path = Path(argv[0]) if len(argv) == 2 else checkpoint.checkpoint_path(shipped_model_path())
    out = Path(argv[-1])
    ckpt = checkpoint.load(ckpt_path)
    cfg = TrainConfig.from_dict(ckpt["config"])
    net = models.build(cfg.arch)
    net.load_state_dict(checkpoint.inference_weights(ckpt))
    original = torch.onnx.export

    def unoptimised(*args, **kwargs):   # keeps BatchNormalization nodes (and some shape plumbing)
        return original(*args, **{**kwargs, "optimize": False})

    with mock.patch.object(torch.onnx, "export", unoptimised):
        export.export(net.eval(), out, arch=cfg.arch, dataset=cfg.dataset, metrics={},
                      training={"from": ckpt_path.name, "batch_norm": "kept (not folded)"})
    print(f"wrote {out} ({cfg.arch}, batch norm kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
