"""Stable import path named in DESIGN.md; the code lives in :mod:`digitpad.core.inference`."""
from digitpad.core.inference import ModelLoadError, Prediction, Predictor

__all__ = ["ModelLoadError", "Prediction", "Predictor"]
