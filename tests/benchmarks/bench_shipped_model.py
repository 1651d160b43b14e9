"""The shipped model: MNIST test accuracy with ONNX Runtime, and its ONNX-vs-PyTorch parity
(recomputed from the checkpoint shipped beside it, and as recorded in its metadata); what it
was trained on, its worst MNIST confusions (7 -> 1 was the most common), and how many MNIST
test digits its not-a-digit threshold flags.

    .venv/bin/python tests/benchmarks/bench_shipped_model.py [--model digitpad/assets/models/default.onnx]
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from digitpad.core import contract
from training.data import load

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(REPO / "digitpad" / "assets" / "models" / "default.onnx"))
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    args = ap.parse_args()
    model = Path(args.model)
    meta = contract.ModelMetadata.from_json(
        {p.key: p.value for p in onnx.load(model).metadata_props}[contract.METADATA_KEY])
    _, test = load(meta.dataset, args.data_dir)
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    x = test.images.astype(np.float32)[:, None] / 255
    probs = np.concatenate([sess.run(["probs"], {"image": x[i:i + 1000]})[0] for i in range(0, len(x), 1000)])
    acc = float((probs.argmax(1) == test.labels).mean())
    print(f"model {model.name}: arch {meta.arch}, trained {meta.training.get('seconds')} s on "
          f"{meta.training.get('device')}, created {meta.created}")
    print(f"MNIST test accuracy (ONNX Runtime, {len(x)} images): {acc:.2%}")
    m = meta.metrics
    print(f"metadata: test_accuracy {m.get('test_accuracy'):.2%}, parity top-1 {m.get('parity_top1_agreement'):.2%}, "
          f"max |prob diff| {m.get('parity_max_prob_diff'):.2e} over {m.get('parity_images')} images")
    ckpt = model.with_suffix(".ckpt.pt")
    if ckpt.is_file():
        from training import checkpoint, export, models

        weights = checkpoint.inference_weights(checkpoint.load(ckpt))
        net = models.build(meta.arch, like=weights)
        net.load_state_dict(weights)
        par = export.parity(model.read_bytes(), net.eval(), test.images)
        print(f"recomputed parity vs PyTorch: top-1 {par['parity_top1_agreement']:.2%}, "
              f"max |prob diff| {par['parity_max_prob_diff']:.2e}")
    per_class = {str(d): float((probs.argmax(1)[test.labels == d] == d).mean()) for d in range(10)}
    print("per class: " + json.dumps({k: round(v, 4) for k, v in per_class.items()}))
    pred = probs.argmax(1)
    wrong = Counter((int(t), int(p)) for t, p in zip(test.labels, pred) if t != p)
    print(f"errors: {sum(wrong.values())}; worst confusions (true->pred: n): "
          + ", ".join(f"{t}->{p}: {n}" for (t, p), n in wrong.most_common(8)))
    print("trained on: " + json.dumps(meta.training.get("data", "(not recorded)")))
    from digitpad.core.inference import Predictor

    pr = Predictor(model)
    if pr.not_digit_rule is None:
        print("not a digit: no calibrated threshold in this model (it never says 'not a digit')")
    else:
        flagged = np.concatenate([pr.score_batch(x[i:i + 1000])[2] for i in range(0, len(x), 1000)])
        print(f"not a digit: threshold {pr.not_digit_rule.threshold:.3f}, flags {flagged.mean():.2%} of MNIST test; "
              f"calibration: {json.dumps(pr.not_digit_rule.calibration)}")


if __name__ == "__main__":
    main()
