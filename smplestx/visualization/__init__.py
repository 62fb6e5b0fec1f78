"""Visualization: renderers and visualizers."""
