"""Run digitpad-train as a user (or the app) does: a real subprocess, jsonl on stdout."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def train_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", *args]


def run_train(*args: str, timeout: float = 300) -> tuple[int, list[dict], str]:
    """Run to completion; return (exit code, parsed events, stderr). Every stdout line must be JSON."""
    if "--progress" not in args:
        args = (*args, "--progress", "jsonl")
    proc = subprocess.run(train_cmd(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr
