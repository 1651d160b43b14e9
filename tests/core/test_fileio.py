"""The one safe reader (regular files only, links resolved, caps per kind, gzip caps) and the
exclusive lock, both shared by the app and the engine."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zlib

import pytest
from special_files import make_special, no_hang

from digitpad.core import fileio
from digitpad.core.fileio import FileReadError, Kind

SMALL = Kind("a test file", max_bytes=1000, max_unpacked=5000)


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello")
    os.symlink("a.txt", tmp_path / "link.txt")
    assert fileio.read_bytes(tmp_path / "a.txt", SMALL) == b"hello"
    assert fileio.read_bytes(tmp_path / "link.txt", SMALL) == b"hello"
    assert fileio.read_unpacked(tmp_path / "a.txt", SMALL) == b"hello"


@pytest.mark.parametrize("kind, words", [
    ("fifo", "named pipe"), ("dev_zero", "device"), ("dangling", "does not exist"), ("loop", "loop"),
    ("folder", "folder"), ("socket", "socket"),
])
def test_special_files_are_refused_at_once_with_the_file_named(tmp_path, kind, words):
    path = make_special(tmp_path / "x.json", kind)
    for read in (fileio.read_bytes, fileio.read_unpacked):
        with pytest.raises(FileReadError) as e:
            no_hang(lambda read=read: read(path, SMALL))
        assert isinstance(e.value, OSError) and words in str(e.value) and str(path) in str(e.value)
        assert "\n" not in str(e.value) and words in e.value.strerror


def test_missing_tells_nothing_there_from_a_dangling_link(tmp_path):
    with pytest.raises(FileReadError) as e:
        fileio.read_bytes(tmp_path / "none.json", SMALL)
    assert e.value.missing
    with pytest.raises(FileReadError) as e:
        fileio.read_bytes(make_special(tmp_path / "d.json", "dangling"), SMALL)
    assert not e.value.missing and "d.json.gone" in str(e.value)


def test_the_opened_descriptor_is_checked_not_the_name(tmp_path, monkeypatch):
    """A file swapped for a FIFO between a check and the open must not block the reader."""
    regular = tmp_path / "r.bin"
    regular.write_bytes(b"data")
    fifo = make_special(tmp_path / "p.bin", "fifo")
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, flags, *a: real_open(fifo if str(path) == str(regular) else path,
                                                                       flags, *a))
    with pytest.raises(FileReadError, match="named pipe"):
        no_hang(lambda: fileio.read_bytes(regular, SMALL))


def test_size_caps_per_kind(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(FileReadError, match="more than a test file can be here"):
        fileio.read_bytes(big, SMALL)
    assert fileio.read_bytes(big, Kind("roomy", 2000)) == b"x" * 1001


def test_gzip_unpacked_cap_and_damage_are_file_read_errors_naming_the_file(tmp_path):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 100_000))          # 100 KB from a few hundred bytes
    with pytest.raises(FileReadError, match="unpacks to more than") as e:
        fileio.read_unpacked(bomb, SMALL)
    assert "bomb.gz" in str(e.value)
    good = gzip.compress(b"ok" * 100)
    broken = bytearray(good)
    broken[12:20] = b"\xff" * 8                               # inside the deflate stream
    (tmp_path / "broken.gz").write_bytes(bytes(broken))
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "notgz.gz").write_bytes(b"plain text, no gzip header")
    for name in ("broken.gz", "cut.gz", "notgz.gz"):
        with pytest.raises(FileReadError, match="damaged or not gzip") as e:
            fileio.read_unpacked(tmp_path / name, SMALL)
        assert name in str(e.value) and not isinstance(e.value, zlib.error)
    (tmp_path / "fine.gz").write_bytes(good)
    assert fileio.read_unpacked(tmp_path / "fine.gz", SMALL) == b"ok" * 100


def test_resolved_never_fails(tmp_path):
    loop = make_special(tmp_path / "loop", "loop")
    assert fileio.resolved(loop).is_absolute()
    assert fileio.resolved(tmp_path / "a" / ".." / "b") == tmp_path.resolve() / "b"


# -- the lock -----------------------------------------------------------------------------------
def test_a_held_lock_is_refused_at_once_and_names_its_owner(tmp_path):
    lock = tmp_path / ".x.lock"
    with fileio.exclusive_lock(lock):
        assert lock.read_text() == str(os.getpid())
        with pytest.raises(fileio.LockHeld) as e, fileio.exclusive_lock(lock):
            pass
        assert e.value.owner == os.getpid() and isinstance(e.value, OSError)
    assert not lock.exists()                                   # removed on release
    with fileio.exclusive_lock(lock):                          # and free again
        pass


def test_a_lock_left_by_a_dead_process_is_free(tmp_path):
    lock = tmp_path / ".x.lock"
    code = f"import os; from digitpad.core import fileio; l = fileio.exclusive_lock({str(lock)!r}); l.__enter__(); " \
           "os._exit(0)"   # dies holding it: the file stays, the kernel drops the hold
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert lock.exists()
    with fileio.exclusive_lock(lock):
        assert lock.read_text() == str(os.getpid())


def test_a_lock_held_by_a_live_process_waits_up_to_the_timeout(tmp_path):
    lock = tmp_path / ".x.lock"
    code = (f"import sys, time; from digitpad.core import fileio\n"
            f"with fileio.exclusive_lock({str(lock)!r}):\n    print('held', flush=True); time.sleep(1.0)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(fileio.LockHeld) as e, fileio.exclusive_lock(lock):
            pass
        assert e.value.owner == proc.pid
        with fileio.exclusive_lock(lock, timeout=30):          # waits for the other to finish
            pass
    finally:
        proc.wait(timeout=60)
