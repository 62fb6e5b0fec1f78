"""Data samplers of smplestx."""

from .mixed_sampler import MixedDatasetSampler, dataset_quotas, stream_indices

__all__ = ['MixedDatasetSampler', 'dataset_quotas', 'stream_indices']
