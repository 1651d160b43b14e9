"""Synthetic training data: the CLI's file follows the format, is balanced and reproducible."""
from __future__ import annotations

import numpy as np

from digitpad.core.handwriting import collection, strokes, synth


def test_cli_writes_a_valid_balanced_file(tmp_path):
    out = tmp_path / "s.npz"
    assert synth.main(["--out", str(out), "--n", "60", "--seed", "3"]) == 0
    d = collection.load(out)
    assert d.images.shape == (60, 28, 28) and d.images.dtype == np.uint8
    assert np.bincount(d.labels, minlength=10).tolist() == [6] * 10
    assert d.strokes is not None and len(d.strokes["sample_strokes"]) == 60
    assert all(s.startswith("synth:") for s in d.sources)
    # white ink on black, MNIST-placed: the border is dark, the middle has ink
    assert d.images[:, :2].mean() < 3 and d.images[:, 4:24, 4:24].max() == 255
    assert synth.main(["--out", str(tmp_path / "t.npz"), "--n", "60", "--seed", "3", "--no-strokes"]) == 0
    d2 = collection.load(tmp_path / "t.npz")
    assert np.array_equal(d.images, d2.images) and d2.strokes is None


def test_only_training_variants_are_reachable(monkeypatch):
    def guarded(style, split):
        assert split == "train", "synthetic training data touched the benchmark split"
        return strokes.STYLES[style][1][split]

    monkeypatch.setattr(strokes, "variants", guarded)
    samples = synth.template_chunk(0, 0, 0, 30)
    assert len(samples) == 30


def test_mnist_train_restroked(mnist_dir):
    samples = synth.generate(0, seed=1, mnist_train=10, data_dir=mnist_dir)
    assert len(samples) == 10 and all(s.source.startswith("mnist-train:") for s in samples)
