"""--extra and --init: fine-tuning a model on a new 'style' of digit lifts its accuracy there."""
import numpy as np
import onnxruntime as ort
import pytest
from train_helpers import run_train

from training.data import load

ARGS = ["--arch", "seed001", "--batch-size", "32", "--threads", "1", "--no-augment", "--lr", "3e-3",
        "--synthetic", "0", "--restroke", "0", "--real-writers", "0", "--nondigits", "0"]


def accuracy(model, images, labels):
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probs = sess.run(["probs"], {"image": images[:, None].astype(np.float32) / 255})[0]
    return float((probs.argmax(1) == labels).mean())


def test_finetune_from_onnx_on_extra_style(tmp_path, mnist_dir):
    train, test = load("mnist", mnist_dir)
    # The "unusual writer": digits upside down. Train on some, judge on held-out test digits.
    style = tmp_path / "style.npz"
    np.savez(style, images=np.ascontiguousarray(train.images[5000:5300, ::-1, ::-1]),
             labels=train.labels[5000:5300])
    held_x, held_y = np.ascontiguousarray(test.images[:1000, ::-1, ::-1]), test.labels[:1000]

    base = tmp_path / "base.onnx"
    rc, _, err = run_train(*ARGS, "--limit", "3000", "--epochs", "2", "--data-dir", str(mnist_dir),
                           "--out", str(base))
    assert rc == 0, err
    tuned = tmp_path / "tuned.onnx"
    rc, events, err = run_train(*ARGS, "--init", str(base), "--extra", str(style), "--extra-repeat", "4",
                                "--limit", "1200", "--epochs", "2", "--data-dir", str(mnist_dir),
                                "--out", str(tuned))
    assert rc == 0, err
    assert events[0]["n_train"] == 1200 + 4 * 300
    before, after = accuracy(base, held_x, held_y), accuracy(tuned, held_x, held_y)
    assert after > before + 0.2, (before, after)
    # MNIST itself still holds (mixed in, from the base weights).
    assert accuracy(tuned, test.images[:2000], test.labels[:2000]) > 0.85


@pytest.mark.parametrize("content, message", [
    (b"not a zip", "is not a digit collection (.npz)"),
    ("missing", "no 'labels' array"),
    ("badshape", "'images' must be uint8"),
])
def test_bad_extra_file(tmp_path, mnist_dir, capsys, content, message):
    from training.cli import main

    bad = tmp_path / "bad.npz"
    if content == "missing":
        np.savez(bad, images=np.zeros((3, 28, 28), np.uint8))
    elif content == "badshape":
        np.savez(bad, images=np.zeros((3, 20, 20), np.float32), labels=np.zeros(3, np.int64))
    else:
        bad.write_bytes(content)
    rc = main([*ARGS, "--extra", str(bad), "--limit", "64", "--data-dir", str(mnist_dir),
               "--out", str(tmp_path / "m.onnx"), "--progress", "jsonl"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err


def test_init_without_checkpoint_says_why(tmp_path, mnist_dir, capsys):
    from training.cli import main

    lone = tmp_path / "lone.onnx"
    lone.write_bytes(b"")
    rc = main([*ARGS, "--init", str(lone), "--data-dir", str(mnist_dir), "--out", str(tmp_path / "m.onnx")])
    assert rc == 2 and "no checkpoint lone.ckpt.pt beside it" in capsys.readouterr().err
