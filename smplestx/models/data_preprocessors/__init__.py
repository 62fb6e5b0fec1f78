"""Data preprocessors of smplestx."""

from .data_preprocessor import SMPLXDataPreprocessor

__all__ = ['SMPLXDataPreprocessor']
