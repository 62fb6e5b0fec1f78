"""Template project package: importing it registers its modules (see ``custom_imports``)."""

from .example_head import ExampleSMPLXHead

__all__ = ['ExampleSMPLXHead']
