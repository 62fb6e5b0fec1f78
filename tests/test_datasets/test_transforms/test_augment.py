"""RandomSMPLXAugment: seeded draws from ``aug_seed``, the global ``np.random`` otherwise."""

import numpy as np

from smplestx.datasets.transforms import RandomSMPLXAugment


def _params(results):
    return (results['aug_scale'], results['aug_rot'], results['aug_flip'],
            tuple(results['aug_color_scale']))


def test_seeded_draws_follow_the_official_formulas_with_a_generator():
    aug = RandomSMPLXAugment()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        scale = float(np.clip(rng.standard_normal(), -1, 1) * 0.25 + 1)
        rot = float(np.clip(rng.standard_normal(), -2, 2) * 30) if rng.random() <= 0.6 else 0.0
        color = rng.uniform(0.8, 1.2, size=3)
        flip = bool(rng.random() <= 0.5)
        assert _params(aug(dict(aug_seed=seed))) == (scale, rot, flip, tuple(color))


def test_seeded_draws_are_deterministic_leave_np_random_alone_and_differ_per_seed():
    aug = RandomSMPLXAugment()
    np.random.seed(3)
    state = np.random.get_state()[1].copy()
    first = [_params(aug(dict(aug_seed=s))) for s in range(50)]
    assert first == [_params(aug(dict(aug_seed=s))) for s in range(50)]
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert len(set(first)) == 50


def test_seeded_distribution_matches_the_global_one():
    aug = RandomSMPLXAugment()
    seeded = [aug(dict(aug_seed=s)) for s in range(4000)]
    np.random.seed(0)
    unseeded = [aug(dict()) for _ in range(4000)]
    for draws in (seeded, unseeded):
        scales = np.array([d['aug_scale'] for d in draws])
        rots = np.array([d['aug_rot'] for d in draws])
        flips = np.array([d['aug_flip'] for d in draws])
        colors = np.stack([d['aug_color_scale'] for d in draws])
        assert scales.min() >= 0.75 and scales.max() <= 1.25
        assert abs((scales == 1.25).mean() - 0.1587) < 0.02  # P(N(0, 1) > 1), clipped
        assert abs(np.median(scales) - 1) < 0.02 and abs(scales.std() - 0.1795) < 0.006
        assert np.abs(rots).max() <= 60 and abs((rots == 0).mean() - 0.4) < 0.03
        assert abs((rots[rots != 0] == 60).mean() - 0.0228) < 0.01  # P(N(0, 1) > 2)
        assert abs(flips.mean() - 0.5) < 0.03
        assert colors.min() >= 0.8 and colors.max() <= 1.2
        assert abs(colors.mean() - 1) < 0.005 and abs(colors.std() - 0.4 / 12**0.5) < 0.005


def test_without_a_seed_the_global_draws_are_those_of_before():
    """The fallback keeps the former np.random.randn/rand sequence exactly."""
    aug = RandomSMPLXAugment()
    for seed in range(20):
        np.random.seed(seed)
        scale = float(np.clip(np.random.randn(), -1, 1) * 0.25 + 1)
        rot = float(np.clip(np.random.randn(), -2, 2) * 30) if np.random.rand() <= 0.6 else 0.0
        color = np.random.uniform(0.8, 1.2, size=3)
        flip = bool(np.random.rand() <= 0.5)
        np.random.seed(seed)
        assert _params(aug(dict())) == (scale, rot, flip, tuple(color))
        np.random.seed(seed)
        assert _params(aug(dict(aug_seed=None))) == (scale, rot, flip, tuple(color))


def test_test_mode_ignores_the_seed():
    ident = RandomSMPLXAugment(test_mode=True)(dict(aug_seed=7))
    assert (ident['aug_scale'], ident['aug_rot'], ident['aug_flip'],
            ident['aug_color_scale']) == (1.0, 0.0, False, None)
