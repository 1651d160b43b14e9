"""Data-parallel training with torchrun, on this CPU (gloo): the processes end with equal weights,
rank 0 alone writes and reports, a SIGTERM stops them all with a checkpoint that resumes on another
number of processes, and two processes train what one does (the same global batch) within noise."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from train_helpers import REPO, assert_one_line_error, metadata, run_cli, run_train

from digitpad.core import live_snapshot
from digitpad.core import snapshots as snapfile
from training import checkpoint, distributed
from training.distributed import World
from training.errors import TrainError


def torchrun(n: int, *args: str) -> list[str]:
    # --standalone: a rendezvous on a free local port (tests beside each other never share one).
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}   # this checkout's engine in every process


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# -- the pieces, in one process ----------------------------------------------------------------------
def test_the_world_is_one_process_unless_torchrun_says_otherwise():
    assert distributed.from_env({}) == World() and not World().distributed and World().main
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert distributed.from_env(env) == World(3, 4, 1, 2)
    for bad in ({**env, "RANK": "4"}, {**env, "LOCAL_RANK": "x"}, {**env, "LOCAL_WORLD_SIZE": "8"}):
        with pytest.raises(TrainError):
            distributed.from_env(bad)


def test_threads_are_shared_between_the_processes_on_a_machine():
    two = World(0, 4, 0, 2)
    assert distributed.threads(World(), None, 0, 16) is None          # a plain run: torch's own default
    assert distributed.threads(two, None, 0, 16) == 8                 # torchrun's OMP_NUM_THREADS=1 overridden
    assert distributed.threads(two, 0, 3, 16) == 1                    # --threads 0: the idle cores, shared
    assert distributed.threads(two, 3, 0, 16) == 3                    # --threads N: per process
    assert distributed.threads(World(0, 3, 0, 3), None, 0, 2) == 1    # never none


@pytest.mark.parametrize("batch, size", [(32, 2), (30, 4), (1, 3), (7, 2), (64, 1)])
def test_a_global_batch_is_dealt_as_distributedsampler_deals(batch, size):
    idx = torch.arange(100, 100 + batch)
    shares = [distributed.shard(idx, World(r, size)) for r in range(size)]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) == -(-batch // size)   # equal, never empty
    dealt = torch.cat(shares)
    assert set(dealt.tolist()) == set(idx.tolist())                   # every image of the batch, once...
    assert len(dealt) - batch == -batch % size                        # ...plus the padding, repeated ones
    assert torch.equal(shares[0], idx[::size])                        # rank 0 never takes a repeated one


def test_random_streams_differ_by_process_and_rank_0_keeps_a_plain_runs():
    assert distributed.seed(7, World()) == distributed.seed(7, World(0, 2)) == 7
    assert len({distributed.seed(7, World(r, 4)) for r in range(4)}) == 4
    assert distributed.seed(7, World(1, 2), step=10) != distributed.seed(7, World(1, 2))


def test_the_numpy_engine_and_export_refuse_torchrun_in_one_line(capsys, monkeypatch, tmp_path):
    for k, v in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(k, v)
    rc, events, err = run_cli(capsys, "--preset", "seed004", "--out", str(tmp_path / "n.onnx"))
    assert_one_line_error(rc, events, err, "the NumPy engine trains in one process, not 2 (torchrun)")
    rc, events, err = run_cli(capsys, "export", str(tmp_path / "x.ckpt.pt"))
    assert_one_line_error(rc, events, err, "export runs in one process")
    monkeypatch.setenv("RANK", "1")   # the other processes: no event on stdout, the error on stderr
    rc, events, err = run_cli(capsys, "--preset", "seed004", "--out", str(tmp_path / "n.onnx"))
    assert rc == 2 and events == [] and err.startswith("digitpad-train (rank 1 of 2): error: the NumPy engine")


# -- torchrun, 2 processes with gloo --------------------------------------------------------------------
def test_the_processes_end_with_equal_weights_and_only_rank_0_writes(tmp_path, small_mnist):
    done = subprocess.run(torchrun(2, str(REPO / "tests" / "support" / "ddp_worker.py"), str(small_mnist),
                                   str(tmp_path)), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["status"] for r in ranks] == ["completed"] * 2 and [r["world_size"] for r in ranks] == [2, 2]
    assert [r["threads"] for r in ranks] == [max(1, len(os.sched_getaffinity(0)) // 2)] * 2
    differ = [k for k in ranks[0]["tensors"] if ranks[0]["tensors"][k] != ranks[1]["tensors"][k]]
    assert differ == [], "weights and batch-norm statistics must be equal in every process"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ckpt.pt", "m.snapshots.npz", "rank0.json", "rank1.json"]
    ckpt = checkpoint.load(tmp_path / "m.ckpt.pt")
    assert ckpt["weights_sha256"] == ranks[0]["weights_sha256"]


def test_two_processes_train_what_one_does_and_rank_0_alone_reports(tmp_path, small_mnist):
    recipe = ["--arch", "digitpad-s", "--epochs", "2", "--batch-size", "32", "--lr", "3e-3", "--seed", "1",
              "--data-dir", str(small_mnist)]
    rc, alone, err = run_train(*recipe, "--threads", "1", "--out", str(tmp_path / "one.onnx"))
    assert rc == 0, err
    done = subprocess.run(torchrun(2, "-m", "training", *recipe, "--out", str(tmp_path / "two" / "two.onnx"),
                                   "--progress", "jsonl"), cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    events = _events(done.stdout)   # every stdout line is one event, and only rank 0 prints them
    kinds = [e["event"] for e in events if e["event"] not in ("step", live_snapshot.EVENT)]
    assert kinds == ["start", "epoch", "epoch", "exported", "done"], kinds
    # the live kernels and maps: once per weight snapshot, from rank 0 alone
    taken = snapfile.read(tmp_path / "two" / "two.snapshots.npz")
    assert [e["step"] for e in events if e["event"] == live_snapshot.EVENT] == [int(s) for s in taken.step]
    assert events[0]["world_size"] == 2 and events[0]["total_steps"] == alone[0]["total_steps"] == 126
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["two.ckpt.pt", "two.onnx", "two.run.json",
                                                                  "two.snapshots.npz"]
    one, two = metadata(tmp_path / "one.onnx"), metadata(tmp_path / "two" / "two.onnx")
    assert (one.training["world_size"], two.training["world_size"]) == (1, 2)
    # 500 test images: one image is 0.2 points; runs of other seeds spread over about 1.5 points here.
    assert two.metrics["test_accuracy"] == pytest.approx(one.metrics["test_accuracy"], abs=0.02)
    assert two.metrics["test_accuracy"] > 0.85
    assert json.loads((tmp_path / "two" / "two.run.json").read_text())["world_size"] == 2


def test_sigterm_stops_every_process_with_a_checkpoint_that_resumes_on_another_number(tmp_path, small_mnist):
    out = tmp_path / "m.onnx"
    recipe = ["--arch", "seed001", "--epochs", "2", "--batch-size", "32", "--ema", "0.9", "--augment",
              "--data-dir", str(small_mnist)]
    proc = subprocess.Popen(torchrun(2, "-m", "training", *recipe, "--out", str(out), "--progress", "jsonl"),
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = []
    for line in proc.stdout:   # as the loop starts: torchrun passes the signal on to both processes
        first.append(json.loads(line))
        if first[-1]["event"] == "start":
            proc.send_signal(signal.SIGTERM)
            break
    first += _events(proc.stdout.read())
    _, err = proc.communicate(timeout=120)
    assert [e["event"] for e in first if e["event"] not in ("step", live_snapshot.EVENT)] == ["start", "done"], \
        err[-3000:]
    assert first[-1]["status"] == "stopped"
    # Every process ended itself after the same step (none died in a collective, none reported an error)...
    assert "Connection closed" not in err and "digitpad-train (rank" not in err, err[-3000:]
    stopped = checkpoint.load(checkpoint.checkpoint_path(out))
    assert stopped["epoch"] == 0 and 0 < stopped["step_in_epoch"] < 63 and stopped["run_id"] == first[0]["run_id"]
    # ...the step the stop landed on, which rank 0 reported and checkpointed, with the stopped epoch's running
    # figures summed over both processes (each took 16 of every 32 images, one loss per step).
    assert [e["step"] for e in first if e["event"] == "step"][-1] == stopped["step_in_epoch"]
    sums = stopped["epoch_sums"]
    assert (sums["loss_n"], sums["seen"]) == (2 * stopped["step_in_epoch"], 32 * stopped["step_in_epoch"])
    assert not out.exists()

    # Three processes now: 32 images a step no longer divide evenly (two processes take 11, one 10 + 1 repeated).
    done = subprocess.run(torchrun(3, "-m", "training", "--resume", "--out", str(out), "--data-dir",
                                   str(small_mnist), "--progress", "jsonl"), cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    events = _events(done.stdout)
    assert events[0]["resumed"] and events[0]["world_size"] == 3 and events[-1]["status"] == "completed"
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[0] == stopped["step_in_epoch"] + 1 and steps[-1] == 126
    meta = metadata(out)
    assert meta.training["run_id"] == first[0]["run_id"] and meta.training["world_size"] == 3
    assert meta.metrics["test_accuracy"] > 0.8
