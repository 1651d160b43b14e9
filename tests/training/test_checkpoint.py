"""Checkpoints as hostile input: code-running pickles, flipped bytes, hand edits, files from
before run ids, and a model beside another run's checkpoint. Every entry point (--resume,
--init, export) answers with one line and an ``error`` event, never a traceback."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import TINY, assert_one_line_error, metadata, run_cli

from digitpad.core import weights
from training import checkpoint
from training.cli import main
from training.errors import TrainError


# -- the checksum rule ---------------------------------------------------------------------------
def test_weights_digest_is_the_documented_rule():
    arrays = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.array(7, dtype=np.int64),
              "c": np.array([1, 2], dtype=">u2")}
    h = hashlib.sha256()
    for name, dtype, shape, data in [("a", "<i8", "", np.int64(7).tobytes()),
                                     ("b", "<f4", "2,3", np.arange(6, dtype="<f4").tobytes()),
                                     ("c", "<u2", "2", np.array([1, 2], "<u2").tobytes())]:
        h.update(f"{name}\0{dtype}\0{shape}\0".encode() + data)
    assert weights.digest(arrays) == h.hexdigest()
    assert weights.digest(dict(reversed(list(arrays.items())))) == h.hexdigest()


@pytest.mark.parametrize("change", ["value", "name", "dtype", "shape"])
def test_weights_digest_sees_every_kind_of_change(change):
    base = {"w": np.ones((2, 2), np.float32)}
    other = {"value": {"w": np.array([[1, 1], [1, 1.0000001]], np.float32)}, "name": {"v": base["w"]},
             "dtype": {"w": np.ones((2, 2), np.float64)}, "shape": {"w": np.ones(4, np.float32)}}[change]
    assert weights.digest(base) != weights.digest(other)


def test_checkpoint_names_its_run_and_weights(tiny_run):
    ckpt = checkpoint.load(checkpoint.checkpoint_path(tiny_run))
    meta = metadata(tiny_run)
    assert len(ckpt["run_id"]) == 32 and ckpt["legacy"] is False
    assert meta.training["run_id"] == ckpt["run_id"]
    assert meta.training["weights_sha256"] == ckpt["weights_sha256"] == checkpoint.weights_digest(ckpt["ema_model"])
    assert ckpt["sha256"] == checkpoint.file_digest(ckpt)
    # Plain values only: loads with torch's restricted unpickler, nothing but tensors and JSON-like values.
    raw = torch.load(checkpoint.checkpoint_path(tiny_run), weights_only=True)
    json.dumps({k: v for k, v in raw.items() if k not in ("model", "ema_model", "optimizer", "aug_rng",
                                                          "perm_rng", "perm", "best")})
    assert set(raw["best"]) == {"epoch", "model"} and all(isinstance(v, torch.Tensor)
                                                           for v in raw["best"]["model"].values())


# -- hostile pickles -----------------------------------------------------------------------------
class _TouchMarker:
    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile(path: Path, marker: Path, kind: str) -> None:
    _TouchMarker.marker = str(marker)
    payload = {"config": {"arch": "seed001"}, "model": _TouchMarker()}
    if kind == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=int(kind[-1])))


@pytest.mark.parametrize("kind", ["torch.save", "pickle protocol 2", "pickle protocol 5"])
@pytest.mark.parametrize("entry", ["--resume", "--init ckpt", "--init onnx", "export"])
def test_code_running_pickle_is_refused_at_every_entry_point(tiny_run, tmp_path, small_mnist, capsys, kind, entry):
    marker = tmp_path / "marker"
    evil = checkpoint.checkpoint_path(tiny_run)  # beside m.onnx, for --init m.onnx
    _hostile(evil, marker, kind)
    out = tmp_path / "new.onnx"
    common = [*TINY, "--data-dir", str(small_mnist), "--out", str(out)]
    argv = {"--resume": [*common, "--resume", str(evil)], "--init ckpt": [*common, "--init", str(evil)],
            "--init onnx": [*common, "--init", str(tiny_run)],
            "export": ["export", str(evil), "--out", str(out), "--data-dir", str(small_mnist)]}[entry]
    rc, events, err = run_cli(capsys, *argv)
    if kind == "pickle protocol 5":  # its framing is refused before the global is reached
        assert_one_line_error(rc, events, err, "is damaged or not a plain checkpoint (refused")
    else:
        assert_one_line_error(rc, events, err, "holds objects other than tensors and plain values (posix.system); "
                                               "refused: loading it could run code")
    assert not marker.exists() and not out.exists()


# -- damage ---------------------------------------------------------------------------------------
def flip_bytes_in_largest_tensor(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + 100
    raw[start:start + 4] = bytes(b ^ 0xFF for b in raw[start:start + 4])
    path.write_bytes(raw)


@pytest.mark.parametrize("entry", ["--resume", "--init", "export"])
def test_flipped_bytes_are_caught_by_the_checksum(tiny_run, tmp_path, small_mnist, capsys, entry):
    ckpt = checkpoint.checkpoint_path(tiny_run)
    flip_bytes_in_largest_tensor(ckpt)
    out = tmp_path / "new.onnx"
    common = [*TINY, "--data-dir", str(small_mnist), "--out", str(out)]
    argv = {"--resume": [*common, "--resume", str(ckpt)], "--init": [*common, "--init", str(tiny_run)],
            "export": ["export", str(ckpt), "--out", str(out), "--data-dir", str(small_mnist)]}[entry]
    rc, events, err = run_cli(capsys, *argv)
    assert_one_line_error(rc, events, err, "is damaged: its tensors do not match their checksum")
    assert not out.exists()


def test_truncated_and_garbage_files(tiny_run, tmp_path):
    ckpt = checkpoint.checkpoint_path(tiny_run)
    ckpt.write_bytes(ckpt.read_bytes()[:5000])
    with pytest.raises(TrainError, match="is unreadable or damaged"):
        checkpoint.load(ckpt)
    ckpt.write_bytes(b"\x00garbage")
    with pytest.raises(TrainError, match="is damaged or not a plain checkpoint"):
        checkpoint.load(ckpt)


def _edit(path: Path, edit, fix_checksums: bool = True) -> None:
    """A hand edit; a careful editor even recomputes the checksums."""
    ckpt = torch.load(path, weights_only=True)
    edit(ckpt)
    if fix_checksums and isinstance(ckpt, dict) and "sha256" in ckpt:
        if ckpt.get("model") is not None and all(isinstance(v, torch.Tensor) for v in ckpt["model"].values()):
            ckpt["weights_sha256"] = checkpoint.weights_digest(checkpoint.inference_weights(ckpt))
        ckpt["sha256"] = checkpoint.file_digest(ckpt)
    torch.save(ckpt, path)


def _set(key, value):
    return lambda c: c.__setitem__(key, value)


def _set_config(key, value):
    return lambda c: c["config"].__setitem__(key, value)


def _transpose_head(c):
    c["model"]["head.1.weight"] = c["model"]["head.1.weight"].T.contiguous()


def _bad_adam_state(c):
    c["optimizer"]["state"][0]["exp_avg"] = torch.zeros(3)


HAND_EDITS = {
    "epoch beyond --epochs": (_set("epoch", 5), "bad epoch: 5"),
    "config names another arch": (_set_config("arch", "digitpad-s"), "does not fit its arch"),
    "config value of the wrong type": (_set_config("lr", "fast"), "config values of the wrong type: lr='fast'"),
    "config value out of range": (_set_config("epochs", 0), "--epochs must be >= 1"),
    "config key unknown": (lambda c: c["config"].update(colour="blue"), "config keys this engine does not know"),
    "config not a dict": (_set("config", [1, 2]), "a config must be a dict"),
    "history shorter than epochs": (lambda c: c["history"].pop(), "history that does not match its 2 finished"),
    "history value of the wrong type": (lambda c: c["history"][0].__setitem__("test_accuracy", "high"),
                                        "bad history record for epoch 1"),
    "step beyond the epoch": (_set("step_in_epoch", 19), "bad step in epoch: 19"),
    "mid-epoch without an order": (_set("step_in_epoch", 3), "stopped mid-epoch but has no epoch order"),
    "order of other images": (lambda c: c.update(step_in_epoch=3, perm=torch.arange(10)), "epoch order (perm)"),
    "EMA weights missing": (_set("ema_model", None), "EMA weights missing with --ema 0.9"),
    "weight missing": (lambda c: c["model"].pop("head.1.bias"), "model weights missing ['head.1.bias']"),
    "weight of another shape": (_transpose_head, "model head.1.weight is (784, 10)"),
    "optimizer state of another shape": (_bad_adam_state, "optimizer state exp_avg of shape (3,)"),
    "optimizer groups edited": (lambda c: c["optimizer"]["param_groups"][0].__setitem__("params", [0]),
                                "optimizer state that does not fit"),
    "generator state cut": (_set("aug_rng", torch.zeros(5, dtype=torch.uint8)), "bad augmentation generator"),
    "run id": (_set("run_id", "x"), "bad run id 'x'"),
    "format": (_set("format", 3), "has format 3"),
    "unknown entry": (_set("evil", 1), "unexpected ['evil']"),
    "device": (_set("device", "tpu"), "bad device 'tpu'"),
    "training-set size": (_set("n_train", 0), "bad training-set size: 0"),
    "elapsed time": (_set("elapsed_s", -1.0), "bad elapsed time"),
    "parent": (_set("parent", {"run_id": 1}), "bad parent"),
    "weights checksum of other weights": (lambda c: c["ema_model"]["head.1.bias"].add_(1), "weights_sha256 is not"),
}


@pytest.mark.parametrize("case", HAND_EDITS)
def test_hand_edited_checkpoints_are_refused_with_a_reason(tiny_run, case):
    edit, message = HAND_EDITS[case]
    path = checkpoint.checkpoint_path(tiny_run)
    if case == "weights checksum of other weights":  # the editor fixes the file checksum, not weights_sha256
        def edit_keep_weights_sha(c):
            edit(c)
            c["sha256"] = checkpoint.file_digest(c)
        _edit(path, edit_keep_weights_sha, fix_checksums=False)
    else:
        _edit(path, edit)
    with pytest.raises(TrainError) as e:
        checkpoint.load(path)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_a_tensor_edit_without_new_checksums_is_damage(tiny_run):
    path = checkpoint.checkpoint_path(tiny_run)
    _edit(path, lambda c: c["model"]["head.1.bias"].add_(1), fix_checksums=False)
    with pytest.raises(TrainError, match="is damaged"):
        checkpoint.load(path)


def test_inconsistent_checkpoint_through_the_cli_is_one_line(tiny_run, tmp_path, small_mnist, capsys):
    path = checkpoint.checkpoint_path(tiny_run)
    _edit(path, _set_config("arch", "digitpad"))
    rc, events, err = run_cli(capsys, "export", str(path), "--out", str(tmp_path / "x.onnx"), "--data-dir",
                              str(small_mnist))
    assert_one_line_error(rc, events, err, "does not fit its arch")


# -- which model a checkpoint belongs to --------------------------------------------------------------
@pytest.fixture
def other_run(tmp_path, small_mnist) -> Path:
    out = tmp_path / "other" / "o.onnx"
    assert main([*TINY, "--seed", "7", "--data-dir", str(small_mnist), "--out", str(out), "--progress", "none"]) == 0
    return out


def test_model_beside_another_runs_checkpoint_is_refused(tiny_run, other_run, tmp_path, small_mnist, capsys):
    """What an interrupted run into an existing --out leaves: the old model, a new run's checkpoint."""
    ckpt = checkpoint.checkpoint_path(tiny_run)
    shutil.copy(checkpoint.checkpoint_path(other_run), ckpt)
    model_run, other = metadata(tiny_run).training["run_id"], metadata(other_run).training["run_id"]
    rc, events, err = run_cli(capsys, *TINY, "--init", str(tiny_run), "--data-dir", str(small_mnist),
                              "--out", str(tmp_path / "tuned.onnx"))
    assert_one_line_error(rc, events, err, f"m.onnx (run {model_run}) and m.ckpt.pt (run {other}) are not one run's")
    before = tiny_run.read_bytes()
    rc, events, err = run_cli(capsys, "export", str(ckpt), "--data-dir", str(small_mnist))  # default --out: m.onnx
    assert_one_line_error(rc, events, err, "are not one run's model and checkpoint")
    assert tiny_run.read_bytes() == before, "another run's model must not be replaced"
    rc, events, err = run_cli(capsys, "export", str(ckpt), "--out", str(tmp_path / "elsewhere.onnx"),
                              "--data-dir", str(small_mnist))
    assert rc == 0, err
    assert metadata(tmp_path / "elsewhere.onnx").training["run_id"] == other


def test_init_refuses_a_checkpoint_that_went_on_after_the_export(tiny_run, tmp_path, small_mnist, capsys):
    old_model = tmp_path / "old.onnx"
    shutil.copy(tiny_run, old_model)
    assert main([*TINY, "--data-dir", str(small_mnist), "--resume", "--out", str(tiny_run), "--epochs", "3",
                 "--progress", "none"]) == 0
    shutil.copy(old_model, tiny_run)  # the model of epoch 2 beside the checkpoint of epoch 3
    capsys.readouterr()
    rc, events, err = run_cli(capsys, *TINY, "--init", str(tiny_run), "--data-dir", str(small_mnist),
                              "--out", str(tmp_path / "tuned.onnx"))
    assert_one_line_error(rc, events, err, "holds later weights of the same run")
    # Re-exporting the same run over its own older model is fine.
    rc, events, err = run_cli(capsys, "export", str(checkpoint.checkpoint_path(tiny_run)), "--data-dir",
                              str(small_mnist))
    assert rc == 0, err
    assert len(metadata(tiny_run).training["history"]) == 3


def test_fine_tune_names_its_parent(tiny_run, tmp_path, small_mnist, capsys):
    tuned = tmp_path / "tuned.onnx"
    rc, events, err = run_cli(capsys, *TINY, "--init", str(tiny_run), "--epochs", "1", "--data-dir", str(small_mnist),
                              "--out", str(tuned))
    assert rc == 0, err
    base, child = metadata(tiny_run).training, metadata(tuned).training
    assert child["parent"] == {"run_id": base["run_id"], "weights_sha256": base["weights_sha256"]}
    assert child["run_id"] != base["run_id"]


# -- files from before run ids (the shipped model was such a pair until it was retrained) ----------------------
def test_legacy_checkpoint_predates_run_ids_and_still_loads(legacy_run):
    ckpt = checkpoint.load(legacy_run / "default.ckpt.pt")
    assert ckpt["legacy"] is True and ckpt["run_id"] is None and weights.is_digest(ckpt["weights_sha256"])
    assert checkpoint.match_model(legacy_run / "default.onnx", ckpt, legacy_run / "default.ckpt.pt") == "dense layers"


def test_legacy_checkpoint_cannot_be_resumed(legacy_run, tmp_path, small_mnist, capsys):
    rc, events, err = run_cli(capsys, "--resume", str(legacy_run / "default.ckpt.pt"), "--data-dir", str(small_mnist),
                              "--out", str(tmp_path / "x.onnx"))
    assert_one_line_error(rc, events, err, "was written before checkpoints had run ids")


def test_fine_tuning_a_legacy_model_works_and_says_what_is_unknown(legacy_run, tmp_path, small_mnist, capsys):
    tuned = tmp_path / "tuned.onnx"
    rc, events, err = run_cli(capsys, "--init", str(legacy_run / "default.onnx"), "--limit", "64", "--epochs", "1",
                              "--batch-size", "32", "--threads", "1", "--data-dir", str(small_mnist),
                              "--out", str(tuned))
    assert rc == 0, err
    assert "default.onnx predates run ids; its dense layers equal default.ckpt.pt's" in err
    parent = metadata(tuned).training["parent"]
    assert parent["run_id"] is None
    assert parent["weights_sha256"] == checkpoint.load(legacy_run / "default.ckpt.pt")["weights_sha256"]


def test_old_model_beside_a_foreign_old_checkpoint_is_refused(legacy_run, tmp_path, small_mnist, capsys):
    model = tmp_path / "old.onnx"
    shutil.copy(legacy_run / "default.onnx", model)
    legacy = torch.load(legacy_run / "default.ckpt.pt", weights_only=True)
    dense_bias = [k for k in legacy["ema_model"] if k.startswith("head.") and k.endswith(".bias")][-1]
    legacy["ema_model"][dense_bias] += 0.5
    torch.save(legacy, checkpoint.checkpoint_path(model))
    rc, events, err = run_cli(capsys, "--init", str(model), "--limit", "64", "--data-dir", str(small_mnist),
                              "--out", str(tmp_path / "tuned.onnx"))
    assert_one_line_error(rc, events, err, "old.onnx was made before run ids and its dense layers differ")
