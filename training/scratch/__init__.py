"""A CNN with no framework: NumPy layers with hand-written backward passes (see layers.py)."""
