"""Augmentation on whole batches, on the training device: one grid_sample or gather per batch.

Digits: aimed at what people draw on the canvas, not only at MNIST's test set: slant and size
(affine), wobble (a smooth elastic field), and pen width (thicken or thin the stroke).
Photos: shifts and horizontal flips (a photo of a car facing left is still a car; a mirrored 2
is not a 2, so digits are never flipped).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 12.0
    scale: tuple[float, float] = (0.85, 1.1)
    aspect: float = 0.1          # height/width jitter: narrow and wide handwriting
    shear: float = 0.25          # radians-ish, both axes
    translate_px: float = 2.0
    elastic: float = 0.06        # displacement amplitude, in units of half the image
    elastic_grid: int = 5        # coarseness of the random field (5x5 control points)
    thickness_p: float = 0.5     # chance a sample's stroke width changes

    def scaled(self, strength: float) -> AugmentConfig:
        """The same kinds of change, each magnitude times ``strength`` (0: identity)."""
        lo, hi = self.scale
        return AugmentConfig(
            rotate_deg=self.rotate_deg * strength, scale=(1 - (1 - lo) * strength, 1 + (hi - 1) * strength),
            aspect=self.aspect * strength, shear=self.shear * strength, translate_px=self.translate_px * strength,
            elastic=self.elastic * strength, elastic_grid=self.elastic_grid, thickness_p=self.thickness_p * strength)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None, device) -> torch.Tensor:
    return torch.rand(n, device=device, generator=g) * (hi - lo) + lo


# The UCI 8x8 digits were already size-normalised and deslanted by NIST's programs, and one of
# their pixels is a 4x4 block: gentler geometry, translation in fractions of a block, and no
# stroke-thickness change (a 3x3 dilation of block counts is a blur, not a thicker pen).
OPTDIGITS_AUGMENT = AugmentConfig(rotate_deg=8.0, scale=(0.9, 1.1), aspect=0.1, shear=0.15, translate_px=0.5,
                                  elastic=0.0, thickness_p=0.0)


@dataclass(frozen=True)
class PhotoAugment:
    """A random shift and a horizontal flip per image. ``continuous=False``: whole-pixel shifts of
    the image padded by ``shift_px`` (the "random crop with padding" of the CIFAR-10 literature);
    True: any fraction of a pixel, bilinear, as Keras's ImageDataGenerator does. ``fill``: what
    comes in at the edge: "reflect" (mirrored) or "nearest" (the edge pixel repeated: Keras's
    ``fill_mode='nearest'``)."""

    shift_px: float = 4.0
    continuous: bool = False
    fill: str = "reflect"
    flip_p: float = 0.5

    def scaled(self, strength: float) -> PhotoAugment:
        return PhotoAugment(self.shift_px * strength, self.continuous, self.fill, self.flip_p * strength)


# Page's (and most fast CIFAR-10 recipes'): crops of the 4-pixel reflect-padded image, and flips.
PHOTO_AUGMENT = PhotoAugment()
# keras-team/keras examples/cifar10_cnn.py: ImageDataGenerator(width_shift_range=0.1,
# height_shift_range=0.1, horizontal_flip=True, fill_mode='nearest'), bilinear (its
# interpolation_order=1): shifts of up to 3.2 pixels of a 32-pixel image, in fractions.
KERAS_AUGMENT = PhotoAugment(shift_px=0.1 * 32, continuous=True, fill="nearest")


def augment_config(dataset: str, style: str = "auto") -> AugmentConfig | PhotoAugment:
    """Full-strength augmentation for a dataset's images (``style`` "keras": seed003's)."""
    if style == "keras":
        return KERAS_AUGMENT
    if dataset in ("cifar10", "folder"):
        return PHOTO_AUGMENT
    return OPTDIGITS_AUGMENT if dataset == "optdigits" else AugmentConfig()


def random_affine_grid(n: int, cfg: AugmentConfig, device, g: torch.Generator | None = None,
                       size: int = 28) -> torch.Tensor:
    """Sampling grid [n, size, size, 2] for a random affine plus a smooth elastic field."""
    rot = _uniform(n, -cfg.rotate_deg, cfg.rotate_deg, g, device) * (math.pi / 180)
    sx = _uniform(n, *cfg.scale, g, device)
    sy = sx * _uniform(n, 1 - cfg.aspect, 1 + cfg.aspect, g, device)
    shx = _uniform(n, -cfg.shear, cfg.shear, g, device)
    t = cfg.translate_px * 2 / size
    tx, ty = _uniform(n, -t, t, g, device), _uniform(n, -t, t, g, device)
    cos, sin = torch.cos(rot), torch.sin(rot)
    # grid_sample maps output -> input coordinates, so this is the inverse transform;
    # dividing by the scale makes sx > 1 enlarge the digit.
    theta = torch.stack([
        torch.stack([cos / sx, (-sin + shx * cos) / sx, tx], 1),
        torch.stack([sin / sy, (cos + shx * sin) / sy, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    if cfg.elastic > 0:
        field = torch.randn(n, 2, cfg.elastic_grid, cfg.elastic_grid, device=device, generator=g)
        field = F.interpolate(field * cfg.elastic, size=(size, size), mode="bicubic", align_corners=False)
        grid = grid + field.permute(0, 2, 3, 1)
    return grid


def change_thickness(x: torch.Tensor, p: float, g: torch.Generator | None = None) -> torch.Tensor:
    """Blend each sample towards its dilation (thicker) or erosion (thinner) by a random amount."""
    n = x.shape[0]
    dil = F.max_pool2d(x, 3, stride=1, padding=1)
    ero = -F.max_pool2d(-x, 3, stride=1, padding=1)
    amount = torch.rand(n, 1, 1, 1, device=x.device, generator=g)
    pick = torch.rand(n, 1, 1, 1, device=x.device, generator=g)
    thicker = pick < p / 2
    thinner = (pick >= p / 2) & (pick < p)
    # Erosion of an antialiased stroke mostly dims it; a drawn thin stroke is still fully
    # bright, so rescale each thinned sample back to its original peak.
    thin = x + 0.7 * amount * (ero - x)
    peak = x.amax((2, 3), keepdim=True)
    thin = thin * (peak / thin.amax((2, 3), keepdim=True).clamp_min(1e-3))
    out = torch.where(thicker, x + amount * (dil - x), x)
    return torch.where(thinner, thin, out)


def shift_whole_pixels(x: torch.Tensor, shift: int, fill: str, g: torch.Generator | None = None) -> torch.Tensor:
    """Each image moved by -shift..shift whole pixels on each axis: a crop of the padded batch,
    gathered in one call (no interpolation, so no blur)."""
    n, c, h, w = x.shape
    if shift < 1:
        return x
    padded = F.pad(x, (shift,) * 4, mode="reflect" if fill == "reflect" else "replicate")
    oy = torch.randint(0, 2 * shift + 1, (n, 1, 1), device=x.device, generator=g)
    ox = torch.randint(0, 2 * shift + 1, (n, 1, 1), device=x.device, generator=g)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + oy
    cols = torch.arange(w, device=x.device).view(1, 1, w) + ox
    index = (rows * (w + 2 * shift) + cols).view(n, 1, h * w).expand(n, c, h * w)
    return padded.reshape(n, c, -1).gather(2, index).view(n, c, h, w)


def shift_fractions(x: torch.Tensor, shift: float, fill: str, g: torch.Generator | None = None) -> torch.Tensor:
    """Each image moved by uniform(-shift, shift) pixels on each axis, bilinear; "nearest" fill
    repeats the edge pixels (grid_sample's border padding), else mirrors them."""
    n, _c, h, w = x.shape
    t = torch.stack([_uniform(n, -shift, shift, g, x.device) * 2 / w, _uniform(n, -shift, shift, g, x.device) * 2 / h],
                    1)
    eye = torch.tensor([[1.0, 0.0], [0.0, 1.0]], device=x.device).expand(n, 2, 2)
    grid = F.affine_grid(torch.cat([eye, t[:, :, None]], 2), [n, 1, h, w], align_corners=False)
    padding = "border" if fill == "nearest" else "reflection"
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def flip(x: torch.Tensor, p: float, g: torch.Generator | None = None) -> torch.Tensor:
    """Each image mirrored left to right with probability ``p``."""
    if p <= 0:
        return x
    mirrored = torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=g) < p
    return torch.where(mirrored, x.flip(3), x)


def augment_photos(x: torch.Tensor, cfg: PhotoAugment, g: torch.Generator | None = None) -> torch.Tensor:
    if cfg.continuous:
        x = shift_fractions(x, cfg.shift_px, cfg.fill, g) if cfg.shift_px > 0 else x
    else:
        x = shift_whole_pixels(x, int(round(cfg.shift_px)), cfg.fill, g)
    return flip(x, cfg.flip_p, g).contiguous(memory_format=torch.channels_last)


def augment(x: torch.Tensor, cfg: AugmentConfig | PhotoAugment, g: torch.Generator | None = None) -> torch.Tensor:
    """x: float [n, C, size, size] in 0..1 -> augmented batch, same shape and range."""
    if isinstance(cfg, PhotoAugment):
        return augment_photos(x, cfg, g)
    x = change_thickness(x, cfg.thickness_p, g)
    grid = random_affine_grid(x.shape[0], cfg, x.device, g, size=x.shape[-1])
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp_(0, 1)
