"""What a data set holds, for the Train tab to show before a run: its classes, how many images each
split has, a few sample images per class, or one line saying why it cannot be used.

Qt-free. ``preview_job`` runs on a background worker (``digitpad.core.background``). The samples of
an image folder are decoded from its listing, a few per class, not by decoding the whole folder:
a first decode of CIFAR-10's 50,000 training pictures takes most of a minute, which the engine
spends (and caches) when a run starts; choosing a data set must not. Sample decoding reports
progress: a folder of large photos costs tens of milliseconds a picture.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitpad.core import cifar, datasets, imagefolder, picture
from digitpad.core.contract import CIFAR10_CLASSES, CLASSES, DATASET_INPUTS

SPLITS = ("train", "test")
PER_CLASS = 6          # samples shown per class, at most
MAX_SAMPLES = 120      # in all: a folder of 100 classes shows one each
TRIES = 3              # files tried per sample wanted, past damaged ones


@dataclass
class DataPreview:
    dataset: str
    folder: Path | None                     # where the data were found (None: not on disk)
    source: str = ""                        # what was read there, in words
    classes: list[str] = field(default_factory=list)
    counts: dict[str, np.ndarray] = field(default_factory=dict)   # split -> images per class
    samples: list[list[np.ndarray]] = field(default_factory=list)  # per class: canonical [C, S, S], 0..1
    skipped: list[str] = field(default_factory=list)   # names of sampled files that are not pictures
    skipped_why: list[str] = field(default_factory=list)   # and why, one each
    held_out: bool = False                  # a folder without test/: every tenth picture is a test picture
    note: str = ""                          # what is not a problem but worth knowing (a download to come)
    problem: str | None = None              # why it cannot be used, one line

    @property
    def title(self) -> str:
        if self.dataset == "folder" and self.folder is not None:
            return f"Image folder: {self.folder.name}"
        return datasets.DATASET_TITLES.get(self.dataset, self.dataset)

    def total(self, split: str) -> int | None:
        counts = self.counts.get(split)
        return int(counts.sum()) if counts is not None else None

    def summary(self) -> str:
        """One line: what was found (classes, images per split, files passed over), or why it cannot be used."""
        if self.problem:
            return f"Cannot be used: {self.problem}"
        if self.note:
            return self.note
        noun = "pictures" if self.dataset == "folder" else "images"
        splits = [f"{n:,} {'training' if split == 'train' else 'test'}" for split in SPLITS
                  if (n := self.total(split)) is not None]
        text = f"{_plural(len(self.classes), 'class', 'classes')} · " + " and ".join(splits) + f" {noun}."
        if self.skipped:
            names = ", ".join(self.skipped[:3]) + (", …" if len(self.skipped) > 3 else "")
            text += f" Not a picture, passed over: {names}."
        return text

    def remarks(self) -> list[str]:
        """What else is worth knowing, a sentence each: how the test pictures were chosen, why files failed."""
        out = []
        if self.held_out:
            out.append("The folder has no test/ folder, so every tenth picture of each class (chosen by its file "
                       "name, the same in every run) is held out for testing.")
        if self.skipped:
            out.append("Why: " + "; ".join(w.rstrip(".") for w in self.skipped_why[:5]) + ".")
        return out


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _spread(indices: np.ndarray, k: int) -> np.ndarray:
    """``k`` of the indices, spread over the whole list (a class's first pictures are often alike)."""
    if len(indices) <= k:
        return indices
    return indices[np.linspace(0, len(indices) - 1, k).round().astype(int)]


def per_class(n_classes: int) -> int:
    return max(1, min(PER_CLASS, MAX_SAMPLES // max(n_classes, 1)))


def cifar_image_root(folder: Path) -> Path | None:
    """CIFAR-10's image folder in (or at) a data folder; None when the folder has torchvision's
    batches, which ``datasets.load_split`` prefers."""
    if cifar.find_folder(folder) is not None:
        return None
    return datasets.cifar_image_folder(folder)
    return None


def image_folder_problem(folder: str | os.PathLike | None) -> str | None:
    """Why a folder of the user's pictures cannot be trained on (one line), or None. Lists, decodes nothing."""
    if not folder:
        return "choose the folder of your pictures (a folder per class, or train/ and test/ with one per class)"
    root = Path(folder)
    if not root.is_dir():
        return f"folder {root} does not exist"
    found = 0
    for split in SPLITS:
        try:
            found = len(imagefolder.listing(root, split)[0])
        except imagefolder.ImageFolderError as e:
            own_split = (root / "train").is_dir() or (root / "test").is_dir()
            if split == "test" and found and not own_split:
                # a class gives up a test picture only when it has two or more
                return (f"the {found:,} pictures in {root} are too few to hold any out for testing (a class "
                        f"needs two or more): add pictures, or put some in test/<class>/ folders")
            return _folder_words(root, e)
    return None


def _folder_words(root: Path, error: Exception) -> str:
    """The core's reason, or a plainer one for the commonest mistake: the folder of one class chosen."""
    try:
        loose = any(p.suffix.lower() in picture.SUFFIXES for p in root.iterdir())
        folders = any(p.is_dir() for p in root.iterdir())
    except OSError:
        loose = folders = False
    if loose and not folders:
        return (f"{root} holds pictures but no class folders: put each class's pictures in a folder named "
                f"after the class, and choose the folder above them")
    return str(error)


def load_preview(dataset: str, folder: str | os.PathLike | None, *, download: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> DataPreview:
    """What ``dataset`` in ``folder`` holds. ``download``: the engine fetches it when it is not there."""
    title = datasets.DATASET_TITLES.get(dataset, dataset)
    root = Path(folder) if folder else None
    if dataset == "folder":
        problem = image_folder_problem(root)
        if problem:
            return DataPreview(dataset, root, problem=problem)
        return _from_listing(dataset, root, None, f"your pictures in {root}", progress, cancelled)
    if root is not None and dataset == "cifar10" and (images := cifar_image_root(root)) is not None:
        try:
            return _from_listing(dataset, images, list(CIFAR10_CLASSES), f"image folder {images}", progress,
                                 cancelled)
        except imagefolder.ImageFolderError as e:
            return DataPreview(dataset, images, problem=str(e))
    if root is None or not datasets.has_split(root, dataset, "train"):
        names = list(CLASSES.get(dataset, []))
        if download and dataset in datasets.DOWNLOADABLE:
            return DataPreview(dataset, None, classes=names,
                               note=f"{title} is not in the app's data folder yet: the engine downloads it "
                                    f"(once) when the run starts.")
        where = f"in {root}" if root is not None else "here: choose its folder"
        return DataPreview(dataset, root, classes=names, problem=f"no {title} {where}")
    return _from_splits(dataset, root, cancelled)


def _from_splits(dataset: str, root: Path, cancelled) -> DataPreview:
    """IDX files, the UCI digits' files, torchvision's CIFAR-10 batches: whole splits (a second at most)."""
    splits = {}
    try:
        for split in SPLITS:
            if datasets.has_split(root, dataset, split) and not (cancelled and cancelled()):
                splits[split] = datasets.load_split(root, dataset, split)
    except datasets.DatasetError as e:
        return DataPreview(dataset, root, problem=str(e))
    train = splits.get("train") or next(iter(splits.values()))
    names = list(train.classes or CLASSES.get(dataset) or [str(i) for i in range(int(train.labels.max()) + 1)])
    k = len(names)
    counts = {split: np.bincount(s.labels, minlength=k)[:k] for split, s in splits.items()}
    n = per_class(k)
    samples = []
    shape = DATASET_INPUTS[dataset].shape
    scale = np.float32(1.0 / train.full_scale)
    for c in range(k):
        idx = _spread(np.flatnonzero(train.labels == c), n)
        samples.append([(train.images[i].astype(np.float32) * scale).reshape(shape) for i in idx])
    source = (f"torchvision's batches in {cifar.find_folder(root)}" if dataset == "cifar10"
              else f"the files in {root}")
    return DataPreview(dataset, root, source, names, counts, samples)


def _from_listing(dataset: str, root: Path, classes: list[str] | None, source: str, progress,
                  cancelled) -> DataPreview:
    """A labelled image folder: its listing for the counts, a few pictures per class decoded."""
    listed = {split: imagefolder.listing(root, split, classes) for split in SPLITS}
    files, names = listed["train"]
    k = len(names)
    counts = {split: np.bincount([label for _p, label in found], minlength=k)[:k]
              for split, (found, _names) in listed.items()}
    own_split = (root / "train").is_dir() or (root / "test").is_dir()
    n = per_class(k)
    side = DATASET_INPUTS[dataset].size
    by_class: list[list[Path]] = [[] for _ in range(k)]
    for path, label in files:
        by_class[label].append(path)
    wanted = [list(_spread(np.arange(len(paths)), n * TRIES)) for paths in by_class]
    total, done = sum(min(n, len(w)) for w in wanted), 0
    samples: list[list[np.ndarray]] = []
    skipped: list[str] = []
    why: list[str] = []
    for label, order in enumerate(wanted):
        got: list[np.ndarray] = []
        # every TRIES-th candidate first, so the samples spread over the class; the others stand in for damaged ones
        for i in [*order[::TRIES], *(j for pos, j in enumerate(order) if pos % TRIES)]:
            if len(got) >= n or (cancelled and cancelled()):
                break
            path = by_class[label][int(i)]
            try:
                pixels = picture.photo_pixels(picture.read_picture(path), side)
            except picture.PictureError as e:
                skipped.append(path.name)
                why.append(str(e))
                continue
            got.append(np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32) / np.float32(255))
            done += 1
            if progress is not None:
                progress(min(done, total), total)
        samples.append(got)
    return DataPreview(dataset, root, source, names, counts, samples, skipped, why, held_out=not own_split)


def preview_job(task, dataset: str, folder: str | None, download: bool = False) -> DataPreview:
    """A background job (``digitpad.core.background``): progress per decoded sample, stops when superseded."""
    return load_preview(dataset, folder, download=download, progress=task.progress,
                        cancelled=lambda: task.cancelled)
