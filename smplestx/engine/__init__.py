"""Engine components: hooks (and, later, loops and optimizer constructors)."""

from . import hooks  # noqa: F401
