"""Functional (tensor-level) evaluation helpers."""
