"""Explore and compare: where an input lies among the test set, what each filter responds to, and two
models side by side. Qt-free; the Draw tab's Map and Compare views and the feature maps' detail show it.

- ``TestSetMap(predictor, images, labels)``: the test set laid out in 2-D from the model's last hidden
  layer (``testset_map``; how: ``layout``), ``.points``, ``.place(x)``; cached per model file.
- ``top_activating(predictor, images, layer, channel, k)``: the images a channel responds to most, with
  the least and each one's patch (``responses``); cached per model file.
- ``disagreements`` / ``compare``: where two models' answers differ on a test set (``compare``).
- ``jobs``: the background jobs the views submit, and the test set they share.
"""
from .compare import Comparison, Disagreements, cannot_compare, compare, disagreements
from .layout import Cancelled
from .responses import LayerResponses, TopImages, layer_responses, top_activating, top_of
from .testset_map import EMBEDDING, PCA, Placement, TestSetMap

__all__ = ["TestSetMap", "Placement", "PCA", "EMBEDDING", "top_activating", "top_of", "TopImages", "LayerResponses",
           "layer_responses", "Disagreements", "Comparison", "disagreements", "compare", "cannot_compare",
           "Cancelled"]
