"""Models: backbones, heads, body models, losses, data preprocessors and estimators."""

from . import backbones, body_models, data_preprocessors, estimators, heads, losses  # noqa: F401
from .utils import vitpose_init  # noqa: F401  (registers the ViTPosePretrained initialiser)
