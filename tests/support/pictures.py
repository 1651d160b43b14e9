"""Pictures that tests write with Pillow: files of every kind the app opens, a tiny CIFAR-10 image
folder and a tiny Fashion-MNIST test set, and photos of handwritten digits (MNIST digits as dark ink
on light paper, under uneven light, with noise, upscaled, as JPEG)."""
from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from digitpad.core.contract import CIFAR10_CLASSES


def scene(width: int = 90, height: int = 60, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 [h, w, 3] picture: a gradient sky, a red block on the left, a blue one on the
    right (an EXIF rotation or a flip shows)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    rgb = np.stack([0.3 + 0.4 * yy, 0.5 + 0.3 * xx, 0.8 - 0.3 * yy], -1)
    rgb[height // 3:, : width // 3] = (0.85, 0.15, 0.1)
    rgb[height // 3:, 2 * width // 3:] = (0.1, 0.2, 0.9)
    rgb += rng.normal(0, 0.02, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def write_every_kind(folder: Path) -> dict[str, Path]:
    """One file per kind the app must open (name -> path), and a damaged one ("damaged")."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = scene()
    img = Image.fromarray(rgb)
    files = {}

    def save(name: str, image: Image.Image, **kw) -> None:
        files[name] = folder / name
        image.save(files[name], **kw)

    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, : rgb.shape[1] // 2] = 0               # the left half transparent: flattened onto white
    save("alpha.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
    save("palette.png", img.convert("P", palette=Image.ADAPTIVE, colors=16))
    grey16 = (rgb.mean(axis=2).astype(np.uint16) * 257)
    save("grey16.png", Image.fromarray(grey16.astype("<u2")))   # mode I;16
    exif = Image.Exif()
    exif[0x0112] = 6                                 # Orientation: rotate 90° clockwise to display
    save("rotated.jpg", img, quality=92, exif=exif.tobytes())
    save("plain.jpg", img, quality=92)
    save("picture.bmp", img)
    save("picture.webp", img, quality=90)
    save("picture.gif", img.convert("P", palette=Image.ADAPTIVE))
    save("picture.tiff", img)
    good = (folder / "plain.jpg").read_bytes()
    files["damaged"] = folder / "damaged.jpg"
    files["damaged"].write_bytes(good[: len(good) // 3])     # cut off in the middle of its data
    files["not a picture"] = folder / "notes.png"
    files["not a picture"].write_text("these are notes, not a PNG")
    return files


def class_colour(k: int) -> np.ndarray:
    hue = k / 10
    return np.array([0.5 + 0.5 * np.cos(2 * np.pi * (hue + s)) for s in (0, 1 / 3, 2 / 3)])


def write_cifar_folder(data_dir: Path, per_class: int = 3) -> Path:
    """``data_dir/cifar10/test/<class>/NNNN.png``: ``per_class`` 32x32 pictures of each CIFAR-10 class,
    class k tinted its own colour. Returns ``data_dir``."""
    rng = np.random.default_rng(3)
    for k, name in enumerate(CIFAR10_CLASSES):
        folder = data_dir / "cifar10" / "test" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rgb = np.clip(class_colour(k) * 0.8 + rng.normal(0, 0.1, (32, 32, 3)), 0, 1)
            Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return data_dir


def _idx(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def write_fashion_idx(data_dir: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """A Fashion-MNIST test set of the given images, gzipped IDX in torchvision's layout."""
    raw = data_dir / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(np.asarray(images, np.uint8), 2051)))
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(np.asarray(labels, np.uint8), 2049)))
    return data_dir


def digit_photo(digit: np.ndarray, seed: int = 0, scale: int = 10, border: int = 60) -> bytes:
    """An MNIST digit (uint8 [28, 28], white on black) as a JPEG photo of ink on paper: dark ink on
    light paper lit from one corner (the far corner ~half as bright), sensor noise, a slight colour cast."""
    rng = np.random.default_rng(seed)
    side = 28 * scale
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), np.float32) / 255
    ink = np.pad(ink, border)
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    paper = 0.95 - 0.45 * xx * (0.5 + yy)
    grey = paper * (1 - ink) + 0.12 * ink + rng.normal(0, 0.03, ink.shape)
    rgb = np.clip(np.stack([grey, grey * 0.97, grey * 0.9], -1), 0, 1)
    out = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8)).save(out, "JPEG", quality=80)
    return out.getvalue()
