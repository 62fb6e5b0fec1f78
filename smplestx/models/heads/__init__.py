"""Heads of smplestx."""

from .smplx_transformer_head import SMPLXTransformerHead

__all__ = ['SMPLXTransformerHead']
