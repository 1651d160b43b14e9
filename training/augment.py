"""Augmentation on whole batches, on the training device: one grid_sample per batch.

Aimed at what people draw on the canvas, not only at MNIST's test set: slant and size
(affine), wobble (a smooth elastic field), and pen width (thicken or thin the stroke).
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


def augment_config(dataset: str) -> AugmentConfig:
    """Full-strength augmentation for a dataset's images."""
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


def augment(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator | None = None) -> torch.Tensor:
    """x: float [n, 1, size, size] in 0..1 -> augmented batch, same shape and range."""
    x = change_thickness(x, cfg.thickness_p, g)
    grid = random_affine_grid(x.shape[0], cfg, x.device, g, size=x.shape[-1])
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp_(0, 1)
