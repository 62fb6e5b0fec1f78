"""With seeded indices the augmentation of a sample does not depend on dataloader workers."""

from functools import partial

import numpy as np
from mmengine.dataset import DefaultSampler, worker_init_fn
from torch.utils.data import DataLoader

from smplestx.datasets import HumanDataset, MixedDataset
from smplestx.datasets.samplers import MixedDatasetSampler, SeededDefaultSampler

AUGMENT = [dict(type='RandomSMPLXAugment')]


def _params(batch):
    """``(dataset, sample_idx, scale, rot, flip, colour)`` of every sample of a batch."""
    return [(r['dataset_name'], r['sample_idx'], r['aug_scale'], r['aug_rot'], r['aug_flip'],
             tuple(r['aug_color_scale'].tolist())) for r in batch]


def _draws(dataset, sampler, num_workers=0, persistent=False, epochs=2):
    """The augmentation parameters of ``epochs`` epochs, in sampling order."""
    init = partial(worker_init_fn, num_workers=num_workers, rank=0, seed=0)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler, num_workers=num_workers,
                        persistent_workers=persistent, collate_fn=_params,
                        worker_init_fn=init if num_workers else None)
    np.random.seed(0)  # the main process draws like worker 0 when not seeded by index
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        out.append([p for batch in loader for p in batch])
    return out


def _human(humandata_factory, name='hd.npz', num=6, seed=0):
    path, _ = humandata_factory(name, num=num, seed=seed)
    return HumanDataset(path, pipeline=AUGMENT)


def test_same_augmentation_with_0_2_and_2_persistent_workers(humandata_factory):
    dataset = _human(humandata_factory)
    ref = _draws(dataset, SeededDefaultSampler(dataset, seed=3))
    assert sorted(p[1] for p in ref[0]) == list(range(6))
    assert _draws(dataset, SeededDefaultSampler(dataset, seed=3), 2) == ref
    assert _draws(dataset, SeededDefaultSampler(dataset, seed=3), 2, persistent=True) == ref
    # Another epoch: other augmentation of each sample.
    first = {p[1]: p[2:] for p in ref[0]}
    assert all(first[p[1]] != p[2:] for p in ref[1])
    # Another run seed: other order and augmentation.
    assert _draws(dataset, SeededDefaultSampler(dataset, seed=4), epochs=1)[0] != ref[0]


def test_mixed_sampler_augmentation_does_not_depend_on_workers(humandata_factory):
    dataset = MixedDataset([_human(humandata_factory, 'a.npz', num=3, seed=1),
                            _human(humandata_factory, 'b.npz', num=5, seed=2)])
    ref = _draws(dataset, MixedDatasetSampler(dataset, total_len=10, seed=0))
    assert _draws(dataset, MixedDatasetSampler(dataset, total_len=10, seed=0), 2,
                  persistent=True) == ref
    # The samples of 'a' appear twice per epoch, augmented differently.
    a_params = [p[2:] for p in ref[0] if p[0] == 'a']
    assert len(a_params) == 5 and len(set(a_params)) == 5


def test_without_seeds_the_augmentation_depends_on_workers(humandata_factory):
    """MMEngine's own sampler gives plain indices: the global np.random fallback."""
    dataset = _human(humandata_factory)
    ref = _draws(dataset, DefaultSampler(dataset, seed=3))
    other = _draws(dataset, DefaultSampler(dataset, seed=3), 2, persistent=True)
    assert [p[:2] for p in other[0]] == [p[:2] for p in ref[0]]  # same samples
    assert other != ref  # other augmentation
    assert ref[0][:2] == other[0][:2]  # worker 0 is seeded like the main process
