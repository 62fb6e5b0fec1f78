"""Datasets, transforms and samplers."""

from . import samplers, transforms  # noqa: F401
