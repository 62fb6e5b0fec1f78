"""smplestx: an MMEngine toolkit for expressive whole-body pose and shape estimation."""

from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
