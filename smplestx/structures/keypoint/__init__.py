"""Keypoint conventions."""
