"""The one exception type the CLI turns into a single clear line (and a jsonl ``error`` event)."""


class TrainError(Exception):
    """A problem the user can fix: bad data, bad flags, an unwritable path. No traceback."""
