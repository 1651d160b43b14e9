"""One config dataclass for a training run, and the named presets (explicit flags override them).

The dataclass defaults are a plain recipe (no augmentation, label smoothing, weight EMA or extra
drawn digits): that is what ``digitpad-train --arch X --epochs N`` runs. The shipped model's
recipe is ``--preset default``; a preset is only ever applied when it is named.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .errors import TrainError


@dataclass
class TrainConfig:
    arch: str = "digitpad"
    dataset: str = "mnist"
    data_dir: str | None = None      # None: torchvision download into the user's data folder
    epochs: int = 15
    batch_size: int = 128
    lr: float = 3e-3
    optimizer: str = "adamw"         # adamw | sgd | rmsprop (Keras's: rho 0.9, epsilon 1e-7)
    momentum: float = 0.9            # sgd's (Nesterov) momentum; 0: plain SGD
    weight_decay: float = 5e-4
    schedule: str = "onecycle"       # onecycle | cosine | constant | inverse-time (lr / (1 + lr_decay * step))
    lr_decay: float = 0.0            # the inverse-time schedule's decay per step (Keras's optimizer `decay`)
    label_smoothing: float = 0.0
    augment: bool = False
    augment_style: str = "auto"      # auto: the data set's own (digits: affine, elastic, pen; photos: crops, flips)
                                     # | keras: Keras's ImageDataGenerator shifts of 0.1 and flips (seed003)
    mild_epochs: int = 0             # the last N epochs augment at mild_strength: ends closer to clean digits
    mild_strength: float = 0.5       # 0 = no augmentation, 1 = full
    ema: float = 0.0                 # per-step decay of an EMA of the weights (0: off); EMA is evaluated/exported
    device: str = "auto"             # auto | cpu | cuda
    precision: str = "fp32"          # fp32 | bf16 | auto (bf16 autocast where the device runs it natively)
    seed: int = 0
    threads: int | None = None       # torch intra-op threads; None = torch's default; 0 = the cores idle at start
    limit: int | None = None         # train on the first N images only (tests, quick trials)
    out: str | None = None           # .onnx path; None = a new file in the user's model library
    extra: list[str] | None = None   # .npz files (images uint8 [N,28,28], labels) mixed into training
    extra_repeat: int = 1            # each extra sample appears this many times per epoch
    synthetic: int = 0               # drawn-style digits from the app's stroke templates (training split)
    restroke: int = 0                # MNIST training digits redrawn along their skeletons with a round pen
    init: str | None = None          # start from these weights (.ckpt.pt, or an .onnx with one beside it)
    real_writers: int = 0            # renderings of each training writer's UNIPEN digit (needs the data folder's copy)
    nondigits: int = 0               # generated non-digits (scribbles, shapes, letters, digit pairs), uniform target
    nondigit_weight: float = 0.5     # weight of a non-digit's loss (outlier exposure) against a digit's
    not_digit_rate: float = 0.005    # calibration: the share of held-out real writers' digits called not-a-digit
    engine: str = "torch"            # torch | numpy (training/scratch: NumPy only, plain SGD, CPU)
    # The class names of a folder of pictures, set from the folder when a run starts (one output per
    # class); None: the data set's own ten. Kept in the checkpoint, so a resume finds the same net.
    classes: list[str] | None = None

    def validate(self) -> TrainConfig:
        problems = []
        if self.epochs < 1:
            problems.append(f"--epochs must be >= 1 (got {self.epochs})")
        if self.batch_size < 1:
            problems.append(f"--batch-size must be >= 1 (got {self.batch_size})")
        if not (0 < self.lr < 10):
            problems.append(f"--lr must be in (0, 10) (got {self.lr})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"--optimizer must be {_one_of(OPTIMIZERS)} (got {self.optimizer!r})")
        if self.schedule not in SCHEDULES:
            problems.append(f"--schedule must be {_one_of(SCHEDULES)} (got {self.schedule!r})")
        if not (0 <= self.lr_decay < 1):
            problems.append(f"--lr-decay must be in [0, 1) (got {self.lr_decay})")
        if self.augment_style not in AUGMENT_STYLES:
            problems.append(f"--augment-style must be {_one_of(AUGMENT_STYLES)} (got {self.augment_style!r})")
        elif self.augment_style == "keras" and self.dataset not in PHOTO_DATASETS:
            problems.append(f"--augment-style keras shifts and flips photos; {self.dataset} images are digits")
        if self.precision not in PRECISIONS:
            problems.append(f"--precision must be {_one_of(PRECISIONS)} (got {self.precision!r})")
        if not (0 <= self.label_smoothing < 1):
            problems.append(f"--label-smoothing must be in [0, 1) (got {self.label_smoothing})")
        if self.weight_decay < 0:
            problems.append(f"--weight-decay must be >= 0 (got {self.weight_decay})")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append(f"--device must be auto, cpu or cuda (got {self.device!r})")
        if self.threads is not None and self.threads < 0:
            problems.append(f"--threads must be >= 0 (got {self.threads})")
        if self.limit is not None and self.limit < 1:
            problems.append(f"--limit must be >= 1 (got {self.limit})")
        if self.synthetic < 0 or self.restroke < 0:
            problems.append(f"--synthetic and --restroke must be >= 0 (got {self.synthetic}, {self.restroke})")
        if self.mild_epochs < 0:  # more than --epochs is allowed: then every epoch is mild
            problems.append(f"--mild-epochs must be >= 0 (got {self.mild_epochs})")
        if not (0 <= self.mild_strength <= 1):
            problems.append(f"--mild-strength must be in [0, 1] (got {self.mild_strength})")
        if not (0 <= self.ema < 1):
            problems.append(f"--ema must be in [0, 1) (got {self.ema})")
        if self.real_writers < 0 or self.nondigits < 0:
            problems.append(f"--real-writers and --nondigits must be >= 0 (got {self.real_writers}, {self.nondigits})")
        if not (0 <= self.nondigit_weight <= 10):
            problems.append(f"--nondigit-weight must be in [0, 10] (got {self.nondigit_weight})")
        if not (0 <= self.not_digit_rate < 0.5):
            problems.append(f"--not-digit-rate must be in [0, 0.5) (got {self.not_digit_rate})")
        if self.extra_repeat < 1:
            problems.append(f"--extra-repeat must be >= 1 (got {self.extra_repeat})")
        if not (0 <= self.momentum < 1):
            problems.append(f"--momentum must be in [0, 1) (got {self.momentum})")
        if self.classes is not None and not (2 <= len(set(self.classes)) == len(self.classes) <= 100):
            problems.append(f"a data set has 2 to 100 distinct class names (got {len(self.classes)})")
        if self.engine not in ENGINES:
            problems.append(f"--engine must be {' or '.join(ENGINES)} (got {self.engine!r})")
        if self.dataset in ("optdigits", *PHOTO_DATASETS) and (self.synthetic or self.restroke or self.extra
                                                               or self.real_writers or self.nondigits):
            takes = "8x8" if self.dataset == "optdigits" else "32x32 colour images"
            problems.append("--synthetic, --restroke, --real-writers, --nondigits and --extra add 28x28 images; "
                            f"{self.dataset} models take {takes} (set them to 0 / leave --extra out)")
        if problems:
            raise TrainError("; ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Any, strict: bool = False) -> TrainConfig:
        """A config read from a file: each value must have its field's type (TrainError if not).
        ``strict``: no unknown keys (a checkpoint this engine wrote). A missing key takes its
        default: every field added since checkpoints had a format defaults to what runs did before it."""
        if not isinstance(d, dict):
            raise TrainError(f"a config must be a dict, not {type(d).__name__}")
        types = {f.name: f.type for f in fields(cls)}
        if strict and set(d) - set(types):
            raise TrainError(f"config keys this engine does not know: {sorted(set(d) - set(types))}")
        typed = cls.typed_items(d)
        bad = [f"{k}={v!r}" for k, v in d.items() if k in types and k not in typed]
        if bad:
            raise TrainError(f"config values of the wrong type: {', '.join(bad)[:200]}")
        return cls(**typed)

    @classmethod
    def typed_items(cls, d: dict[str, Any]) -> dict[str, Any]:
        """The entries of ``d`` that are fields of this config with their field's type (readers of
        run logs keep these and drop the rest)."""
        types = {f.name: f.type for f in fields(cls)}
        return {k: v for k, v in d.items() if k in types and _has_type(v, types[k])}


def _has_type(value: Any, annotation: str) -> bool:
    """Does ``value`` match a field annotation such as ``int``, ``str | None``, ``list[str] | None``?"""
    for alt in annotation.split(" | "):
        if (alt == "None" and value is None
                or alt == "bool" and isinstance(value, bool)
                or alt == "int" and isinstance(value, int) and not isinstance(value, bool)
                or alt == "float" and isinstance(value, (int, float)) and not isinstance(value, bool)
                or alt == "str" and isinstance(value, str)
                or alt == "list[str]" and isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return True
    return False


ENGINES = ("torch", "numpy")
OPTIMIZERS = ("adamw", "sgd", "rmsprop")
SCHEDULES = ("onecycle", "cosine", "constant", "inverse-time")
PRECISIONS = ("fp32", "bf16", "auto")
AUGMENT_STYLES = ("auto", "keras")
PHOTO_DATASETS = ("cifar10", "folder")   # 32x32 RGB photos: the colour nets, photo augmentation, no digit extras


def _one_of(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


# Each preset is a set of overrides on TrainConfig's defaults.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("the shipped model: digitpad arch, MNIST plus 20,000 template-drawn and 10,000 re-stroked "
                "digits, the UNIPEN training writers' digits drawn 4 times each, 20,000 non-digits (outlier "
                "exposure, calibrated not-a-digit threshold), augmented except over the last 3 epochs, weight EMA",
                dict(synthetic=20000, restroke=10000, real_writers=4, nondigits=20000, mild_epochs=3,
                     mild_strength=0.0, ema=0.999, augment=True, label_smoothing=0.05)),
    "fast": ("small net, one epoch of MNIST, no augmentation: >= 99%",
             dict(arch="digitpad-s", epochs=1, batch_size=128, lr=5e-3, augment=False, label_smoothing=0.0)),
    "accurate": ("small net, 8 epochs, half-strength augmentation, weight EMA: MNIST >= 99.5% (99.57% measured)",
                 # Half-strength augmentation throughout: the full strength needs more epochs than fit.
                 dict(arch="digitpad-s", epochs=8, batch_size=128, lr=5e-3, augment=True,
                      mild_epochs=8, mild_strength=0.5, ema=0.998, label_smoothing=0.05)),
    "seed001": ("seed 001's recipe: tiny CNN, Adam, batch 64, 10 epochs, no augmentation",
                dict(arch="seed001", epochs=10, batch_size=64, lr=1e-3, optimizer="adamw",
                     weight_decay=0.0, schedule="constant", label_smoothing=0.0, augment=False)),
    "seed002": ("seed 002's recipe: Fashion-MNIST, 2 conv+BN blocks",
                dict(arch="seed002", dataset="fashion-mnist", epochs=10, batch_size=64, lr=1e-3,
                     schedule="constant", label_smoothing=0.0, augment=False)),
    "seed000": ("seed 000's recipe: 4 conv+BN blocks and an MLP head",
                dict(arch="seed000", epochs=10, batch_size=128, lr=1e-3, schedule="cosine",
                     label_smoothing=0.0, augment=False)),
    "seed004": ("seed 004's recipe with the NumPy engine: UCI 8x8 digits, conv 1->4, dense 64->32->10, "
                "plain SGD lr 0.2, batch 64, 30 epochs, weight EMA (>= 96% in seconds)",
                dict(engine="numpy", arch="seed004", dataset="optdigits", epochs=30, batch_size=64, lr=0.2,
                     optimizer="sgd", momentum=0.0, weight_decay=0.0, schedule="constant", label_smoothing=0.0,
                     augment=False, ema=0.99)),
    "optdigits": ("the UCI 8x8 digits with the PyTorch engine: optdigits arch (conv+BN 32/64/128), gentle "
                  "augmentation, 15 epochs: 99.6-99.7% on the 13 unseen writers in about 15 CPU seconds",
                  # 10 epochs: 99.4-99.55%; 40: 99.72% at 3x the time (seeds 0-4, one thread). One thread:
                  # an 8x8 batch is too small to split, two cost 6x the CPU time here (155 s vs 25 s user).
                  dict(arch="optdigits", dataset="optdigits", epochs=15, batch_size=64, lr=3e-3, augment=True,
                       threads=1)),
    "seed003": ("seed 003's recipe: its Keras CIFAR-10 network as keras-team/keras examples/cifar10_cnn.py runs "
                "it: RMSprop lr 1e-4 with decay 1e-6, batch 32, 100 epochs, shifts of 0.1 and horizontal flips "
                "(the tutorial: 78.5%)",
                dict(arch="seed003", dataset="cifar10", epochs=100, batch_size=32, lr=1e-4, optimizer="rmsprop",
                     weight_decay=0.0, schedule="inverse-time", lr_decay=1e-6, label_smoothing=0.0, augment=True,
                     augment_style="keras")),
    "cifar10": ("the best CIFAR-10 accuracy for the CPU time we found: a half-width ResNet-9 in bfloat16 where "
                "the CPU has it, one-cycle Nesterov SGD, crops and flips, label smoothing",
                dict(arch="cifar10", dataset="cifar10", epochs=7, batch_size=256, lr=0.2, optimizer="sgd",
                     momentum=0.9, weight_decay=5e-4, schedule="onecycle", label_smoothing=0.1, augment=True,
                     precision="auto", threads=0)),
}
# The preset a run starts from when --preset is not given: none (TrainConfig's plain defaults),
# except where the defaults cannot run: the NumPy engine, the 8x8 digits and colour pictures (the
# default arch takes 28x28 grey) have their own base.
DEFAULT_PRESETS = {"engine:numpy": "seed004", "dataset:optdigits": "optdigits", "dataset:cifar10": "cifar10",
                   "dataset:folder": "cifar10"}


def default_preset(engine: str | None = None, dataset: str | None = None) -> str | None:
    """None (the plain defaults), or the preset made for this engine or dataset (``--engine numpy``: seed004)."""
    return DEFAULT_PRESETS.get(f"engine:{engine}") or DEFAULT_PRESETS.get(f"dataset:{dataset}")


TRAIN_IMAGES = {"mnist": 60_000, "fashion-mnist": 60_000, "optdigits": 3_823, "cifar10": 50_000}
UNIPEN_TRAINING_DIGITS = 4_898   # the training writers' digits in ../shared/datasets/unipen-1a-dev (unipen.split_of)


def samples_per_epoch(cfg: TrainConfig) -> int | None:
    """Training images one epoch of ``cfg`` sees (without --extra files); None for an unknown dataset.
    Times epochs, and divided by the ``samples_per_s`` of the engine's step events on this machine,
    it is the estimate of a run's length that a preset's description must not promise."""
    if cfg.dataset not in TRAIN_IMAGES:
        return None
    n = TRAIN_IMAGES[cfg.dataset]
    real = cfg.real_writers * UNIPEN_TRAINING_DIGITS
    return (min(n, cfg.limit) if cfg.limit else n) + cfg.synthetic + cfg.restroke + real + cfg.nondigits


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise TrainError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)} (see --list-presets)")
    return replace(TrainConfig(), **PRESETS[name][1])
