"""Stable import path named in DESIGN.md; the code lives in :mod:`digitpad.core.preprocess`."""
from digitpad.core.preprocess import PREPROCESSINGS, input_hints, to_model_input, to_optdigits_input

__all__ = ["PREPROCESSINGS", "input_hints", "to_model_input", "to_optdigits_input"]
