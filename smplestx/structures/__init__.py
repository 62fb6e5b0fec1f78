"""Data structures shared by datasets, models, metrics and the demo."""

from .smplx_data_sample import SMPLXDataSample

__all__ = ['SMPLXDataSample']
