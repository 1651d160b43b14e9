"""Digits as people draw them: stroke templates, MNIST skeleton traces, a numpy
rasteriser, synthetic training data, real writers' pen recordings (``unipen.py``, split by
writer), generated non-digits (``nondigits.py``), and the user's own collection ("My digits").

Qt-free and torch-free: everything here is numpy (the views live in ``views.py``).

Train / benchmark separation (see ``strokes.py``): every style template carries
variants tagged ``"train"`` or ``"bench"`` with different geometry; random draws are
seeded from ``SeedSequence([split_tag, seed])`` so the two splits never share a random
stream; MNIST skeleton traces for the benchmark come from the MNIST *test* set only.
``synth.py`` can only reach the ``"train"`` split.
"""
