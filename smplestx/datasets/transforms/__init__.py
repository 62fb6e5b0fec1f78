"""Data transforms of smplestx."""

from .augment import RandomSMPLXAugment
from .bbox import GetBBox
from .crop import AffineCrop
from .formatting import PackSMPLXInputs
from .loading import LoadImage
from .targets import GenerateSMPLXTargets

__all__ = ['LoadImage', 'GetBBox', 'AffineCrop', 'RandomSMPLXAugment', 'PackSMPLXInputs',
           'GenerateSMPLXTargets']
