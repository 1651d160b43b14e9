"""What each of the engine's presets is, in a user's words: a name that says it, the network and
what it reaches. The presets' values come from the engine (``training.config.PRESETS``); only
the words are here, so no number in them is a promise about time (the form measures that:
``client.estimate``). A preset the engine adds later shows under its own name and note.
"""
from __future__ import annotations

from digitpad.client.run_settings import preset_names
from digitpad.core.library import describe
from digitpad.core.paths import shipped_model_path

# name -> (title, what it is; None: the engine's own note). Results are the engine's measured ones or the
# tutorial's own.
PRESET_WORDS: dict[str, tuple[str, str | None]] = {
    "default": ("Shipped model's recipe",
                "How the model digitpad ships was trained: the digitpad network (150 k parameters) on MNIST "
                "plus 30,000 drawn digits, real writers' digits and 20,000 non-digits (so it can say "
                "\"not a digit\"), augmented, with weight averaging.{shipped}"),
    "fast": ("Quick",
             "The small digitpad-s network (34 k parameters), one epoch on MNIST, no augmentation. "
             "It reached 99 % on MNIST in the engine's benchmark."),
    "accurate": ("Accurate",
                 "digitpad-s, 8 epochs with half-strength augmentation and weight averaging. "
                 "It reached 99.5 % on MNIST in the engine's benchmark."),
    "seed001": ("Tutorial 001: tiny CNN",
                "Tutorial 001's network and recipe: conv 1→8, pool, conv 8→16, pool, linear (9 k parameters); "
                "Adam, batch 64, 10 epochs, no augmentation. The tutorial reached 98.73 % on MNIST."),
    "seed002": ("Tutorial 002: Fashion-MNIST CNN",
                "Tutorial 002's network and recipe: two 5×5 conv+BN blocks (16 and 32 channels) and a linear "
                "layer (29 k parameters), 10 epochs on Fashion-MNIST: clothing, not digits. The engine's run "
                "of this recipe reached 89.7 % on Fashion-MNIST's test set."),
    "seed000": ("Tutorial 000: deep CNN",
                "Tutorial 000's network and recipe: four conv+BN blocks (32, 64, 128, 256 channels) and an MLP "
                "head with dropout (471 k parameters), cosine schedule, 10 epochs on MNIST. The largest "
                "network here: minutes per epoch on a laptop CPU."),
    "seed004": ("Tutorial 004: CNN from scratch (NumPy, 8×8)",
                "Tutorial 004's system: the NumPy engine written from scratch (no PyTorch), conv 1→4, pool, "
                "dense 64→32→10 (2.5 k parameters), plain SGD at 0.2, batch 64, 30 epochs on the UCI 8×8 "
                "digits. The tutorial reached 96.0 % on their 13 unseen writers."),
    "seed003": ("Tutorial 003: CIFAR-10 CNN",
                "Tutorial 003's network and recipe, as the Keras CIFAR-10 example runs it: conv 32, conv 32, pool, "
                "conv 64, conv 64, pool, dense 512, with dropout (1.25 M parameters); RMSprop at 0.0001, batch 32, "
                "100 epochs, shifted and flipped photos. The tutorial reached 78.54 % on CIFAR-10's test set, "
                "after hours on a CPU."),
    # The engine's fastest recipe for photos: its note says what it reached, measured with it.
    "cifar10": ("CIFAR-10 photos, best per CPU minute", None),
    "optdigits": ("UCI 8×8 digits, best (PyTorch)",
                  "The optdigits network (three conv+BN blocks, 98 k parameters) with gentle augmentation, "
                  "15 epochs on the UCI 8×8 digits. It reached 99.6-99.7 % on the 13 unseen writers in the "
                  "engine's benchmark."),
}


def _shipped_accuracy() -> str:
    meta = describe(shipped_model_path(), "shipped").metadata
    acc = (meta.metrics or {}).get("test_accuracy") if meta else None
    return f" It reached {acc * 100:.2f} % on MNIST." if isinstance(acc, (int, float)) and acc <= 1 else ""


def title(name: str) -> str:
    return PRESET_WORDS.get(name, (name, ""))[0]


def note(name: str) -> str:
    """What the preset is; the engine's own note for a preset this module does not know."""
    text = PRESET_WORDS.get(name, (name, None))[1]
    if text is None:
        engine = dict(preset_names()).get(name, "")
        return engine[:1].upper() + engine[1:] + ("." if engine and not engine.endswith(".") else "")
    return text.format(shipped=_shipped_accuracy()) if "{shipped}" in text else text


def item_text(name: str) -> str:
    """The combo's line: the title, and the name ``digitpad-train --preset`` knows it by."""
    return f"{title(name)}  ·  {name}" if name in PRESET_WORDS else name
