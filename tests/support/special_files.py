"""Files that are not what their names say, for the tests that every reader survives them: a FIFO
(reading it blocks for ever), ``/dev/zero`` behind a link (never ends), a link to nowhere, a loop
of links, a socket; and ``no_hang``, which fails a test instead of hanging it."""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

SPECIAL_KINDS = ("fifo", "dev_zero", "dangling", "loop", "folder")


def make_special(path: Path, kind: str) -> Path:
    """Put a special file of ``kind`` (one of SPECIAL_KINDS, or "socket") at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        os.symlink("/dev/zero", path)
    elif kind == "dangling":
        os.symlink(path.with_name(path.name + ".gone"), path)
    elif kind == "loop":
        os.symlink(path.name, path)    # a link to itself
    elif kind == "folder":
        path.mkdir()
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    else:
        raise ValueError(kind)
    return path


def no_hang(fn: Callable[[], Any], seconds: float = 20.0) -> Any:
    """``fn()``'s result or exception; AssertionError if it has not returned within ``seconds``
    (a read blocked on a FIFO): the test fails instead of the suite hanging."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the caller below
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} did not return within {seconds} s (blocked?)"
    if "error" in box:
        raise box["error"]
    return box.get("value")
