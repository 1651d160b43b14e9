"""`digitpad-train export CKPT --best`: the epoch with the best test accuracy, not only the last."""
from __future__ import annotations

import pytest
import torch
from train_helpers import metadata, run_cli

from training import checkpoint


def test_the_checkpoint_keeps_the_best_epoch_and_export_writes_it(tiny_run, small_mnist, capsys):
    ckpt = checkpoint.load(checkpoint.checkpoint_path(tiny_run))
    history = ckpt["history"]
    best = max(range(len(history)), key=lambda i: history[i]["test_accuracy"]) + 1
    assert ckpt["best"]["epoch"] == best
    rc, events, err = run_cli(capsys, "export", str(checkpoint.checkpoint_path(tiny_run)), "--best",
                              "--data-dir", str(small_mnist))
    assert rc == 0, err
    out = tiny_run.with_name(f"m-best-epoch{best}.onnx")
    exported = next(e for e in events if e["event"] == "exported")
    assert exported["path"] == str(out) and out.is_file()
    meta = metadata(out)
    assert meta.training["exported_epoch"] == best and meta.training["run_id"] == ckpt["run_id"]
    # the file's accuracy is that epoch's, measured again on the same test set
    assert meta.metrics["test_accuracy"] == pytest.approx(history[best - 1]["test_accuracy"], abs=1e-9)
    assert meta.training["weights_sha256"] == checkpoint.weights_digest(ckpt["best"]["model"])
    # a second export does not replace the first
    rc, events, err = run_cli(capsys, "export", str(checkpoint.checkpoint_path(tiny_run)), "--best",
                              "--data-dir", str(small_mnist))
    assert rc != 0 and "exists already" in events[-1]["message"]


def test_a_damaged_best_record_is_refused(tiny_run):
    path = checkpoint.checkpoint_path(tiny_run)
    ckpt = torch.load(path, weights_only=True)
    weight = next(k for k, v in ckpt["best"]["model"].items() if v.is_floating_point())
    ckpt["best"]["model"][weight].view(-1)[0] += 1.0     # one changed number, checksums left as they were
    torch.save(ckpt, path)
    with pytest.raises(Exception, match="damaged"):
        checkpoint.load(path)


def test_without_a_best_record_export_best_says_what_to_do(tiny_run, small_mnist, capsys):
    path = checkpoint.checkpoint_path(tiny_run)
    ckpt = torch.load(path, weights_only=True)
    del ckpt["best"]                                      # as written before best epochs were kept
    ckpt["sha256"] = checkpoint.file_digest(ckpt)
    torch.save(ckpt, path)
    assert checkpoint.load(path)["best"] is None          # still a good checkpoint
    rc, events, err = run_cli(capsys, "export", str(path), "--best", "--data-dir", str(small_mnist))
    assert rc != 0 and "keeps no best epoch" in events[-1]["message"]
