"""Training augmentation parameters (official ``get_aug_config``)."""

import numpy as np
from mmcv.transforms import BaseTransform

from smplestx.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomSMPLXAugment(BaseTransform):
    """Sample the scale, rotation, flip and colour gain of one training crop.

    The distributions are the official ones: ``scale = clip(N(0, 1), -1, 1) * 0.25 + 1``,
    ``rot = clip(N(0, 1), -2, 2) * 30`` degrees with probability 0.6 (else 0), a per-channel
    colour gain ``U(0.8, 1.2)`` and a horizontal flip with probability 0.5. This transform
    only samples; :class:`AffineCrop` applies the geometry and the colour gain, and
    :class:`GenerateSMPLXTargets` mirrors and rotates the SMPL-X parameters.

    Random numbers come from ``np.random.default_rng(results['aug_seed'])`` when the sampler
    attached a seed to the index (the samplers of :mod:`smplestx.datasets.samplers` do), so
    a sample's augmentation depends on the run seed, the epoch and its position in the epoch
    only, not on the dataloader workers. Without ``aug_seed`` (or with ``None``) they come
    from the global ``np.random`` (seeded per worker by MMEngine), in the same order.

    Optional keys: ``aug_seed``.

    Added keys: ``aug_scale``, ``aug_rot``, ``aug_flip``, ``aug_color_scale``.

    Args:
        scale_factor: Standard deviation of the scale jitter.
        rot_factor: Standard deviation of the rotation in degrees.
        rot_prob: Probability of rotating at all.
        color_factor: Half-width of the colour gain interval.
        flip_prob: Probability of a horizontal flip.
        test_mode: Write the identity augmentation (scale 1, rotation 0, no flip, no gain).
    """

    def __init__(self, scale_factor: float = 0.25, rot_factor: float = 30.0,
                 rot_prob: float = 0.6, color_factor: float = 0.2, flip_prob: float = 0.5,
                 test_mode: bool = False) -> None:
        self.scale_factor = scale_factor
        self.rot_factor = rot_factor
        self.rot_prob = rot_prob
        self.color_factor = color_factor
        self.flip_prob = flip_prob
        self.test_mode = test_mode

    def transform(self, results: dict) -> dict:
        """Write the sampled augmentation into ``results``."""
        if self.test_mode:
            results.update(aug_scale=1.0, aug_rot=0.0, aug_flip=False, aug_color_scale=None)
            return results
        seed = results.get('aug_seed')
        # The module-level functions draw exactly what randn() and rand() would.
        rng = np.random if seed is None else np.random.default_rng(seed)
        scale = float(np.clip(rng.standard_normal(), -1.0, 1.0) * self.scale_factor + 1.0)
        rot = 0.0
        if rng.random() <= self.rot_prob:
            rot = float(np.clip(rng.standard_normal(), -2.0, 2.0) * self.rot_factor)
        color = rng.uniform(1.0 - self.color_factor, 1.0 + self.color_factor, size=3)
        flip = bool(rng.random() <= self.flip_prob)
        results.update(aug_scale=scale, aug_rot=rot, aug_flip=flip, aug_color_scale=color)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_factor={self.scale_factor}, '
                f'rot_factor={self.rot_factor}, rot_prob={self.rot_prob}, '
                f'color_factor={self.color_factor}, flip_prob={self.flip_prob}, '
                f'test_mode={self.test_mode})')
