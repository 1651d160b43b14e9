"""The one exception type the CLI turns into a single clear line (and a jsonl ``error`` event),
and the words for the failures that are not bugs either (running out of memory)."""


class TrainError(Exception):
    """A problem the user can fix: bad data, bad flags, an unwritable path. No traceback.

    ``event()`` adds to the jsonl ``error`` event what the app needs to say what to do in its own terms
    ("choose Local folder") where the message says it for a shell ("pass --data-dir")."""

    def event(self) -> dict:
        return {}


class DownloadError(TrainError):
    """The data set could not be downloaded (no network, a mirror down, a data set not offered)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason

    def event(self) -> dict:
        return {"kind": "download", "reason": self.reason}


def is_allocation_failure(e: BaseException) -> bool:
    """Out of memory: torch's CPU or CUDA allocator, or Python's."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError (CUDA)
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def allocation_message(e: BaseException) -> str:
    first = " ".join(str(e).strip().split("\n")[0].split())[:160] or type(e).__name__
    hint = "a smaller --batch-size or --device cpu" if "CUDA" in first else "a smaller --batch-size"
    return f"out of memory ({first}); try {hint}"
