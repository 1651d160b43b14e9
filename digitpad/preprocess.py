"""Stable import path named in DESIGN.md; the code lives in :mod:`digitpad.core.preprocess`."""
from digitpad.core.preprocess import input_hints, to_model_input

__all__ = ["input_hints", "to_model_input"]
