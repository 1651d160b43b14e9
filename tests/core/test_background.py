"""The newest-request-wins background jobs: superseded work is never delivered."""
from __future__ import annotations

import threading

from digitpad.core.background import LatestOnly


def test_synchronous_mode_runs_inline_and_delivers():
    jobs = LatestOnly("test", synchronous=True)
    got = []
    jobs.submit(lambda task, x: x * 2, 21, on_done=got.append)
    assert got == [42] and not jobs.busy()


def test_newest_request_wins_and_a_running_job_sees_it_was_superseded():
    started, release = threading.Event(), threading.Event()
    seen_cancel, delivered, finished = [], [], threading.Event()

    def slow(task, name):
        started.set()
        release.wait(5)
        seen_cancel.append(task.cancelled)
        return name

    def fast(task, name):
        return name

    jobs = LatestOnly("test")
    jobs.submit(slow, "old", on_done=delivered.append)
    assert started.wait(5) and jobs.busy()
    jobs.submit(fast, "queued", on_done=delivered.append)      # superseded before it runs: never starts
    jobs.submit(fast, "new", on_done=lambda r: (delivered.append(r), finished.set()))
    release.set()
    assert finished.wait(5)
    assert delivered == ["new"] and seen_cancel == [True]
    jobs.shutdown()


def test_errors_and_progress_reach_their_callbacks():
    jobs = LatestOnly("test", synchronous=True)
    errors, progress = [], []

    def job(task):
        for i in range(3):
            task.progress(i + 1, 3)
        raise ValueError("bad input")

    jobs.submit(job, on_done=lambda r: None, on_error=errors.append, on_progress=lambda d, n: progress.append(d))
    assert progress == [1, 2, 3] and isinstance(errors[0], ValueError)


def test_delivery_checks_currency_at_delivery_time():
    """A result that was current when computed but superseded before it reached the UI thread
    is dropped (the GUI delivers later, through the event loop)."""
    queue = []
    jobs = LatestOnly("test", deliver=queue.append, synchronous=True)
    got = []
    jobs.submit(lambda task: "first", on_done=got.append)
    jobs.submit(lambda task: "second", on_done=got.append)
    for call in queue:          # the event loop runs the queued deliveries now
        call()
    assert got == ["second"]
