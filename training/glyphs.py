"""Letters from handwriting fonts, rendered with Pillow, for the not-a-digit kinds (engine and
benchmark only: the app and the tests never need a font).

The fonts are Debian packages (``apt-get install fonts-bwht fonts-dkg-handwriting fonts-comic-neue
fonts-klee fonts-yusei-magic fonts-sjfonts fonts-breip fonts-humor-sans fonts-rufscript``), split by
family so the benchmark reads letters in hands training never saw. Each was looked at glyph by
glyph: femkeklaver is left out (its capitals and digits are hollow outlines, which a pen does
not draw); BWHT fonts are capitals only (their lower case is small capitals, kept: still letters).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from digitpad.core.handwriting.nondigits import LETTERS
from digitpad.core.preprocess import to_model_input

FONT_ROOT = Path("/usr/share/fonts")
FONTS = {
    "train": [
        "opentype/bwht/BecauseWeBuild-Regular.otf", "opentype/bwht/BecauseWeConnect-Regular.otf",
        "opentype/bwht/BecauseWeCreate-Regular.otf", "opentype/bwht/BecauseWeLearn-Regular.otf",
        "opentype/bwht/BecauseWeMentor-Regular.otf", "opentype/bwht/BecauseWeOrganize-Regular.otf",
        "truetype/fifthhorseman/dkg.ttf", "truetype/fifthhorseman/dkgBd.ttf",
        "truetype/fifthhorseman/dkgIt.ttf", "truetype/fifthhorseman/dkgBI.ttf",
        "opentype/comic-neue/ComicNeue-Regular.otf", "truetype/klee/KleeOne-Regular.ttf",
        "truetype/yusei-magic/YuseiMagic-Regular.ttf", "truetype/sjfonts/Delphine.ttf",
    ],
    "bench": [
        "truetype/breip/Breip.ttf", "truetype/humor-sans/Humor-Sans.ttf",
        "truetype/rufscript/Rufscript010.ttf", "truetype/sjfonts/SteveHand.ttf",
    ],
}
PACKAGES = {"train": "fonts-bwht fonts-dkg-handwriting fonts-comic-neue fonts-klee fonts-yusei-magic fonts-sjfonts",
            "bench": "fonts-breip fonts-humor-sans fonts-rufscript fonts-sjfonts"}


def font_paths(split: str, root: Path = FONT_ROOT) -> tuple[list[Path], list[str]]:
    """(the split's fonts that are installed, the names of those that are not)."""
    found, missing = [], []
    for rel in FONTS[split]:
        p = root / rel
        (found if p.is_file() else missing).append(p if p.is_file() else rel)
    return found, missing


def _render(font, ch: str, size: int = 160) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(img).text((size // 2, size // 4), ch, font=font, fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


def render_letters(split: str, letters: str = LETTERS, root: Path = FONT_ROOT) -> list[tuple[str, np.ndarray]]:
    """(font:letter, 28x28 float32 MNIST-style bitmap) for every letter of every installed font
    of ``split``. A letter the font lacks (it would draw the font's 'missing glyph' box) is skipped."""
    from PIL import ImageFont

    out = []
    for path in font_paths(split, root)[0]:
        font = ImageFont.truetype(str(path), 100)
        missing = _render(font, "\ue000")  # a private-use code point: the font's 'no glyph' drawing
        for ch in letters:
            img = _render(font, ch)
            if np.array_equal(img, missing):
                continue
            x = to_model_input(img)
            if x is not None:
                out.append((f"{path.stem}:{ch}", x[0, 0]))
    return out
