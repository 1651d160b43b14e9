"""The one JSON reader for what comes from a file: settings, model metadata, run logs, the
engine's checkpoint records, UNIPEN lines.

``json.loads`` accepts what later code does not survive: ``NaN`` and ``Infinity`` (not JSON),
``1e400`` (becomes ``inf``), a 400-digit integer (``float()`` of it raises OverflowError, a
spin box refuses it), nesting 100,000 deep (RecursionError, here or in whatever walks the value
later) and lone surrogates in strings (cannot be encoded back). Each of these is refused here
with one :class:`JsonError` (a ValueError, so every handler that catches ValueError holds);
every integer that passes fits in 64 bits and every float is finite, so a value that passed
its type check can go into ``int()``, ``float()`` and numpy without another exception type.
Ranges that mean something (epochs, a spin box's bounds) are still the reader's to check.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

from . import fileio

MAX_DEPTH = 512         # digitpad's own files nest 5 deep; readers that copy values recursively ask for less
MAX_INT = 2 ** 63 - 1   # int64: numpy and Qt's 64-bit values take it


class JsonError(ValueError):
    """Not JSON, or JSON with a value no reader here can use. ``str()`` names the source;
    ``reason`` is the why alone (for messages that name the file themselves)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def _int_parser(max_int: int):
    max_digits = len(str(max_int))

    def parse(text: str) -> int:
        digits = text.lstrip("-")
        if len(digits) > max_digits or abs(int(text)) > max_int:
            raise JsonError(f"the integer {text[:12]}{'…' if len(text) > 12 else ''} ({len(digits)} digits) "
                            "is out of range")
        return int(text)

    return parse


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(f"the number {text[:24]} is out of range (non-finite)")
    return value


def _refuse_constant(name: str) -> Any:
    raise JsonError(f"{name} is a non-finite number (not JSON)")


def _check(value: Any, max_depth: int) -> None:
    """Nesting depth and strings, without recursion (a deep value must not overflow this either)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            if not v.isascii():
                v.encode("utf-8")   # UnicodeEncodeError (a ValueError) for a lone surrogate
            continue
        if not isinstance(v, (dict, list)):
            continue
        if depth > max_depth:
            raise JsonError(f"it is nested more than {max_depth} levels deep")
        if isinstance(v, dict):
            stack.extend((k, depth) for k in v)
            stack.extend((x, depth + 1) for x in v.values())
        else:
            stack.extend((x, depth + 1) for x in v)


def loads(text: str | bytes, source: str = "JSON", max_depth: int = MAX_DEPTH, max_int: int = MAX_INT,
          allow_nan: bool = False) -> Any:
    """Decode strict JSON; :class:`JsonError` ``"<source>: <why>"`` for anything described above.
    ``max_int``: a larger bound for a reader that keeps wider integers (a random generator's state).
    ``allow_nan``: NaN and +-Infinity are read as floats, for files that ``json.dumps`` wrote with its
    defaults (a run log records a diverged run's NaN loss); that reader must check ``isfinite``."""
    try:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        value = json.loads(text, parse_int=_int_parser(max_int), parse_float=float if allow_nan else _parse_float,
                           parse_constant=float if allow_nan else _refuse_constant)
        _check(value, max_depth)
        return value
    except JsonError as e:
        raise JsonError(f"{source}: {e}", e.reason) from None
    except RecursionError:
        raise JsonError(f"{source}: it is nested too deeply", "it is nested too deeply") from None
    except UnicodeError as e:
        raise JsonError(f"{source}: not UTF-8 text ({e.reason})", f"not UTF-8 text ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise JsonError(f"{source}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})", str(e)) from None
    except (ValueError, TypeError) as e:   # e.g. int() past Python's digit limit, inside the decoder
        raise JsonError(f"{source}: not valid JSON ({e})", str(e)) from None


def read(path: str | os.PathLike, kind: fileio.Kind, max_depth: int = MAX_DEPTH, allow_nan: bool = False) -> Any:
    """A JSON file read through :func:`fileio.read_bytes` (FileReadError, an OSError, when it
    cannot be read) and decoded by :func:`loads` (JsonError naming the file)."""
    return loads(fileio.read_bytes(path, kind), str(path), max_depth, allow_nan=allow_nan)
