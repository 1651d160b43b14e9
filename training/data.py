"""The engine's data: the core's readers (IDX, the UCI digits, CIFAR-10, folders of pictures),
torchvision's download, extra and synthetic digits.

Why not torchvision's Dataset + DataLoader: per-sample PIL conversion and collation cost
more than a small CNN's forward pass on a CPU. A whole split is 47 MB of uint8, so it
lives on the training device and batches are plain index selections.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from digitpad.core import fileio, npzfile, optdigits, paths
from digitpad.core.datasets import DATASETS, DOWNLOADABLE, DatasetError, Split, concat, load_split
from digitpad.core.fileio import atomic_write_bytes
from digitpad.core.handwriting import collection, nondigits, raster, strokes, synth, unipen

from .errors import DownloadError, TrainError

__all__ = ["DATASETS", "NOT_DIGIT", "Split", "concat", "download", "load", "load_extra", "load_training",
           "nondigit_drawings", "real_writers", "synthetic"]
NOT_DIGIT = nondigits.NOT_DIGIT   # the label of a non-digit: trained towards a uniform distribution


def load_extra(path: str | os.PathLike) -> Split:
    """An .npz of extra labelled digits (the user's collection, synthetic styles), in the app's
    digit collection format: ``images`` uint8 [N, 28, 28] white-on-black, ``labels`` 0..9.
    The collection module is the one reader and validator of that format."""
    try:
        arrays = collection.load(path)
    except collection.CollectionError as e:
        raise TrainError(f"--extra {e}") from None
    return Split(arrays.images, arrays.labels.astype(np.int64))


def _synthetic_cache_key(n: int, seed: int, restroke: int) -> str:
    """Changes whenever the drawing code does, so a stale cache is never reused (and only
    then: editing the fine-tuning or view code must not cost a five-minute redraw)."""
    from digitpad.core import preprocess

    h = hashlib.sha256(f"{n}-{seed}-{restroke}".encode())
    drawing = [Path(synth.__file__).parent / f"{name}.py" for name in ("strokes", "skeleton", "raster", "synth")]
    for src in drawing + [Path(preprocess.__file__)]:
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def synthetic(n: int, seed: int, restroke: int = 0, data_dir: str | os.PathLike | None = None,
              reporter=None) -> Split:
    """Digits drawn from the app's stroke templates (European 1s and 7s, one-stroke and open 4s,
    ...) plus ``restroke`` MNIST *training* digits redrawn along their skeletons, all with a
    round pen and preprocessed exactly as the canvas is. Only the templates' training variants
    and seeds are reachable here; the drawn-digit benchmark uses the others.

    Drawing 30,000 digits takes minutes, so the result is cached in the user's data folder;
    while drawing, ``reporter`` (a progress.Reporter) shows a bar or emits ``progress`` events."""
    key = _synthetic_cache_key(n, seed, restroke)

    def draw() -> Split:
        total, update = n + restroke, None
        if reporter is not None:
            reporter.log(f"drawing {n:,} digits from the stroke templates and re-stroking {restroke:,} MNIST "
                         f"training digits with a round pen; once, then cached in {paths.cache_dir()}")
            update = reporter.task("drawing digits", total, "digit")
        try:
            samples = synth.generate(n, seed=seed, mnist_train=restroke, data_dir=data_dir or paths.datasets_dir(),
                                     workers=min(2, os.cpu_count() or 1),
                                     progress=(lambda k, chunks: update(round(k / chunks * total))) if update else None)
        except DatasetError as e:
            raise TrainError(str(e)) from None
        arrays = collection.pack(samples)
        return Split(arrays["images"], arrays["labels"].astype(np.int64))

    return _cached("synthetic", key, draw)


def _fetch_cifar10(root: Path) -> None:
    """The original archive from its authors' site, checked against torchvision's md5, extracted to
    ``root/cifar-10-batches-py``. Only downloaded and unpacked: torchvision's CIFAR10 class would
    unpickle the batches with pickle.load, which runs whatever a file names; the core's reader
    (digitpad.core.cifar) builds only arrays."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5,
                                 remove_finished=True)


def download(dataset: str, root: Path) -> None:
    """torchvision's downloader; only used when no --data-dir is given (users have internet)."""
    if dataset not in DOWNLOADABLE:
        kind = ("a labelled folder of pictures (train/<class>/*, test/<class>/*, or only <class>/*)"
                if dataset == "folder" else f"{dataset}/ ({', '.join(optdigits.SPLIT_FILES.values())}, the UCI files)")
        raise DownloadError(f"{dataset} is not downloaded by digitpad-train: pass --data-dir with {kind}",
                            "it is not offered for download")
    import torchvision

    root.mkdir(parents=True, exist_ok=True)
    try:
        if dataset == "cifar10":
            _fetch_cifar10(root)
        else:
            cls = getattr(torchvision.datasets, DATASETS[dataset])
            for train in (True, False):
                cls(str(root), train=train, download=True)
    except Exception as e:  # network errors come in many types
        # torchvision's message spans several lines (one per mirror): keep the error one line.
        reason = " ".join(str(e).split())
        reason = reason if len(reason) < 160 else reason[:157] + "..."
        raise DownloadError(
            f"could not download {dataset} into {root} ({reason}); pass --data-dir with local files", reason
        ) from None


def _decoding_progress(reporter, split: str):
    """``progress(done, total)`` for the core's picture decoding: a bar or ``progress`` events,
    started on the first call (a warm cache never calls it)."""
    if reporter is None:
        return None
    state = {}

    def progress(done: int, total: int) -> None:
        if "update" not in state:
            reporter.log(f"decoding {total:,} {split} pictures once; later runs read them from {paths.cache_dir()}")
            state["update"] = reporter.task(f"decoding {split} pictures", total, "picture")
        state["update"](done)

    return progress


def _splits(data_dir: Path, dataset: str, reporter) -> tuple[Split, Split]:
    return tuple(load_split(data_dir, dataset, split, progress=_decoding_progress(reporter, split))
                 for split in ("train", "test"))


def load(dataset: str, data_dir: str | os.PathLike | None, reporter=None) -> tuple[Split, Split]:
    """Train and test splits. Without ``data_dir`` download into the user's data folder first.
    ``reporter``: shows the decoding of pictures (CIFAR-10's image folder, a folder of the user's)
    and names the files that were skipped as not pictures, in one line."""
    if dataset not in DATASETS:
        raise TrainError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    if data_dir is None:
        if dataset == "folder":
            raise TrainError("--dataset folder needs --data-dir: the folder of your labelled pictures")
        root = paths.datasets_dir()
        try:
            return _checked(_splits(root, dataset, reporter), reporter)
        except DatasetError:
            download(dataset, root)
        data_dir = root
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise TrainError(f"data folder {data_dir} does not exist")
    try:
        return _checked(_splits(data_dir, dataset, reporter), reporter)
    except DatasetError as e:
        raise TrainError(str(e)) from None


def _checked(splits: tuple[Split, Split], reporter) -> tuple[Split, Split]:
    """Train and test must name the same classes; what was skipped is said once."""
    train, test = splits
    if train.classes is not None and test.classes is not None and train.classes != test.classes:
        raise TrainError(f"the training and test pictures name different classes ({', '.join(train.classes[:5])}... "
                         f"and {', '.join(test.classes[:5])}...)")
    skipped = train.skipped + test.skipped
    if skipped and reporter is not None:
        shown = "; ".join(skipped[:3]) + (f"; and {len(skipped) - 3:,} more" if len(skipped) > 3 else "")
        reporter.log(f"skipped {len(skipped):,} files that are not readable pictures: {shown}")
    return train, test


def load_training(cfg, reporter=None) -> tuple[Split, Split, dict[str, int]]:
    """A run's training split (``cfg.limit``, drawn digits, real writers, non-digits, ``--extra``
    files), its test split, and what the training split holds (source -> samples, for the
    model's metadata). Torch-free, so the CLI reads the data while torch is still being imported."""
    log = reporter.log if reporter is not None else (lambda _text: None)
    train_split, test_split = load(cfg.dataset, cfg.data_dir, reporter)
    if cfg.limit and cfg.limit < len(train_split):
        # The first N digits; pictures are listed class by class (an image folder), so a limited run
        # takes N spread evenly over the whole set instead (always the same: --resume finds them again).
        keep = (slice(cfg.limit) if train_split.classes is None
                else np.linspace(0, len(train_split) - 1, cfg.limit).round().astype(np.int64))
        train_split = Split(train_split.images[keep], train_split.labels[keep], train_split.full_scale,
                            train_split.classes)
    sources = {f"{cfg.dataset} training set": len(train_split)}
    if cfg.synthetic or cfg.restroke:
        drawn = synthetic(cfg.synthetic, cfg.seed, cfg.restroke, cfg.data_dir, reporter)
        sources["template-drawn and re-stroked MNIST digits"] = len(drawn)
        train_split = concat(train_split, drawn)
    if cfg.real_writers:
        log(f"drawing the UNIPEN training writers' digits {cfg.real_writers} times each ...")
        real = real_writers(cfg.real_writers, cfg.seed, cfg.data_dir)
        if not len(real):
            log("no UNIPEN 1a copy in the data folder (unipen-1a-dev/digits.jsonl.gz): "
                "training without real writers' digits")
        sources["UNIPEN 1a training writers"] = len(real)
        train_split = concat(train_split, real)
    if cfg.nondigits:
        log(f"drawing {cfg.nondigits:,} non-digits ...")
        drawn = nondigit_drawings(cfg.nondigits, cfg.seed, cfg.data_dir, log=log)
        sources["generated non-digits (uniform target)"] = len(drawn)
        train_split = concat(train_split, drawn)
    if cfg.extra:
        extras = [load_extra(p) for p in cfg.extra]
        sources["extra files"] = sum(len(e) for e in extras) * cfg.extra_repeat
        train_split = concat(train_split, *(extras * cfg.extra_repeat))
    for name, split in (("training", train_split), ("test", test_split)):
        if not len(split.labels):
            limit = f" with --limit {cfg.limit}" if cfg.limit and name == "training" else ""
            where = cfg.data_dir or "the data folder"
            raise TrainError(f"the {name} set has 0 images ({cfg.dataset} in {where}{limit})")
    return train_split, test_split, sources


# -- real writers and non-digits (issue 13) ------------------------------------------------------
def _cache_key(*parts, sources=()) -> str:
    """Changes with the arguments and with the drawing code, so a stale cache is never reused."""
    from digitpad.core import preprocess

    h = hashlib.sha256(repr(parts).encode())
    here = Path(synth.__file__).parent
    drawing = [here / f"{name}.py" for name in ("strokes", "skeleton", "raster", "unipen", "nondigits")]
    for src in drawing + [Path(preprocess.__file__), Path(__file__), *sources]:
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def _cached(name: str, key: str, make) -> Split:
    cache = paths.cache_dir() / f"{name}-{key}.npz"
    if cache.is_file():
        try:
            z = npzfile.read(cache, fileio.COLLECTION, keys={"images", "labels"})
            return Split(z["images"], z["labels"].astype(np.int64))
        except Exception:  # noqa: BLE001 - a damaged cache is only a cache: draw again
            pass
    split = make()
    buf = io.BytesIO()
    np.savez(buf, images=split.images, labels=split.labels)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, buf.getvalue())
    except OSError:
        pass  # no cache on a full or read-only disk; training goes on
    return split


def _images(drawings) -> Split:
    xs = [(raster.model_input(d), d.label) for d in drawings]
    xs = [(raster.to_uint8(x), y) for x, y in xs if x is not None]
    if not xs:
        return Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    return Split(np.stack([x for x, _ in xs]), np.array([y for _, y in xs], np.int64))


def _real_chunk(digits: list, seed: int, renderings: int) -> Split:
    out = []
    for d in digits:
        for r in range(renderings):
            rng = strokes.split_rng("train", seed, 0x0417E, d.line, r)
            out.append(unipen.training_drawing(d, rng, "mixed"))
    return _images(out)


def _nondigit_chunk(n: int, seed: int, start: int, letters, digits) -> Split:
    return _images(nondigits.generate(n, "train", seed, "mixed", letters=letters, digits=digits, start=start))


def _parallel(jobs) -> Split:
    from concurrent.futures import ProcessPoolExecutor

    workers = min(2, os.cpu_count() or 1)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as ex:
            parts = [f.result() for f in [ex.submit(fn, *a) for fn, a in jobs]]
    else:
        parts = [fn(*a) for fn, a in jobs]
    return concat(*parts)


def real_writer_digits(data_dir: str | os.PathLike | None, splits=("train",)) -> list:
    """UNIPEN 1a digits of the given writer splits from the data folder; [] when it has no copy."""
    path = unipen.default_path(data_dir or paths.datasets_dir())
    if not path.is_file():
        return []
    try:
        return unipen.load(path, splits=splits)
    except unipen.UnipenError as e:
        raise TrainError(str(e)) from None


def real_writers(renderings: int, seed: int, data_dir: str | os.PathLike | None) -> Split:
    """Every training writer's digit (unipen.split_of == "train") drawn ``renderings`` times
    with the numpy rasteriser (which matches the canvas), each time with another size, pen,
    slant, rotation, warp and tremor (unipen.training_drawing). Empty when the data folder
    has no UNIPEN copy. Cached in the user's data folder."""
    digits = real_writer_digits(data_dir)
    if not digits or renderings < 1:
        return Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    path = unipen.default_path(data_dir or paths.datasets_dir())
    key = _cache_key("real", renderings, seed, path.stat().st_size, len(digits))
    chunks = [digits[i:i + 250] for i in range(0, len(digits), 250)]
    return _cached("real-writers", key, lambda: _parallel([(_real_chunk, (c, seed, renderings)) for c in chunks]))


def nondigit_material(data_dir: str | os.PathLike | None, seed: int):
    """What the letter and several-digits kinds draw from, training side only: letters of the
    training fonts (those installed), and single digits of the training writers plus the stroke
    templates' training variants. Returns (traced letters, digits, a one-line note of what is missing)."""
    from . import glyphs as glyph_fonts

    try:
        glyphs = glyph_fonts.render_letters("train")
    except ImportError:   # Pillow comes with torchvision; without it, no letters
        glyphs = []
    note = "" if glyphs else (f"no training fonts installed (apt-get install {glyph_fonts.PACKAGES['train']}): "
                              "non-digits without letters")
    digits = [(d.label, list(d.strokes)) for d in real_writer_digits(data_dir)]
    rng = strokes.split_rng("train", seed, 0xD1617)
    for i in range(1000):
        style = strokes.styles(i % 10)[int(rng.integers(len(strokes.styles(i % 10))))]
        digits.append((i % 10, strokes.draw(style, rng, "train").strokes))
    return nondigits.trace_letters(glyphs), digits, note


def nondigit_drawings(n: int, seed: int, data_dir: str | os.PathLike | None, log=None) -> Split:
    """``n`` generated non-digits (nondigits.KINDS in turn, training split, label NOT_DIGIT)
    drawn with the numpy rasteriser. Cached in the user's data folder."""
    from . import glyphs as glyph_fonts

    if n < 1:
        return Split(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    fonts = [str(p) for p in glyph_fonts.font_paths("train")[0]]
    path = unipen.default_path(data_dir or paths.datasets_dir())
    key = _cache_key("nondigits", n, seed, fonts, path.stat().st_size if path.is_file() else 0,
                     sources=[Path(glyph_fonts.__file__)])

    def make() -> Split:
        letters, digits, note = nondigit_material(data_dir, seed)
        if note and log:
            log(note)
        step = 1000
        return _parallel([(_nondigit_chunk, (min(step, n - s), seed, s, letters, digits)) for s in range(0, n, step)])

    return _cached("nondigits", key, make)
