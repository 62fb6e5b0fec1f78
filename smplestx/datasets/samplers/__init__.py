"""Data samplers of smplestx; their indices carry per-sample augmentation seeds."""

from .inference_sampler import InferenceSampler, balance_units
from .mixed_sampler import MixedDatasetSampler, dataset_quotas, stream_indices
from .sample_seeds import SeededIndex, index_seed, sample_seed, with_seed
from .seeded_samplers import SeededDefaultSampler, SeededInfiniteSampler

__all__ = [
    'InferenceSampler', 'balance_units', 'MixedDatasetSampler', 'dataset_quotas',
    'stream_indices', 'SeededIndex', 'index_seed', 'sample_seed', 'with_seed',
    'SeededDefaultSampler', 'SeededInfiniteSampler'
]
