"""The My digits tab: the user's own drawings, a guided set, fine-tuning on them."""
from .view import MyDigitsView

__all__ = ["MyDigitsView"]
