"""Hooks of smplestx."""

from .visualization_hook import SMPLXVisualizationHook

__all__ = ['SMPLXVisualizationHook']
