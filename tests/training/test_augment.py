import torch

from training.augment import AugmentConfig, augment, change_thickness


def digit_batch(n=32):
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0  # a thick vertical bar, like a "1"
    return x


def test_augment_keeps_shape_range_and_ink():
    x = digit_batch()
    y = augment(x, AugmentConfig(), torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    ink = y.sum((1, 2, 3))
    assert (ink > 0.3 * x[0].sum()).all(), "no sample may lose its digit"
    assert not torch.allclose(y[0], y[1]), "each sample gets its own transform"


def test_augment_is_reproducible_with_a_seeded_generator():
    x = digit_batch()
    a = augment(x, AugmentConfig(), torch.Generator().manual_seed(3))
    b = augment(x, AugmentConfig(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_thickness_change_both_ways_keeps_peak_brightness():
    x = digit_batch(400)
    y = change_thickness(x, p=1.0, g=torch.Generator().manual_seed(0))
    ink_x, ink_y = x.sum((1, 2, 3)), y.sum((1, 2, 3))
    assert (ink_y > ink_x * 1.05).any() and (ink_y < ink_x * 0.95).any()
    # Thin strokes stay fully bright, as a drawn stroke is.
    assert torch.allclose(y.amax((1, 2, 3)), torch.ones(400), atol=1e-4)


def test_scaled_augmentation_is_identity_at_zero_and_gentler_at_half():
    x = digit_batch(200)
    full = AugmentConfig()
    same = augment(x, full.scaled(0.0), torch.Generator().manual_seed(0))
    assert torch.allclose(same, x, atol=1e-5)
    change = {s: (augment(x, full.scaled(s), torch.Generator().manual_seed(0)) - x).abs().mean().item()
              for s in (0.5, 1.0)}
    assert 0 < change[0.5] < change[1.0]
