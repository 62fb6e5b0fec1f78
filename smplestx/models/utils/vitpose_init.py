"""Initialise the SMPLest-X ViT encoder from a ViTPose checkpoint (S, B, L or H).

Official ViTPose checkpoints hold ``{'state_dict': {'backbone.*', 'keypoint_head.*'},
'meta': ...}``. The official SMPLest-X code loads that dict into the bare encoder with
``strict=False``, so no key matches and the encoder silently stays random. Here the
``backbone.`` prefix is stripped, the keypoint head is dropped and everything else must
fit the ViT exactly: only ``task_tokens`` (which ViTPose does not have) may be missing.

Use it as the backbone's ``init_cfg``::

    backbone=dict(type='ViT', ...,
                  init_cfg=dict(type='ViTPosePretrained',
                                checkpoint='pretrained_models/vitpose_huge.pth'))
"""

import os
from collections import OrderedDict
from typing import Any, Iterable, Mapping, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import update_init_info
from torch import nn

from smplestx.models.utils.checkpoint_conversion import load_torch_file, state_dict_mismatch
from smplestx.registry import WEIGHT_INITIALIZERS

#: Key prefixes of a ViTPose checkpoint that are not part of the encoder.
VITPOSE_DROPPED_PREFIXES: Tuple[str, ...] = ('keypoint_head.', )
#: Encoder parameters that ViTPose does not have (they keep their random init).
ENCODER_ONLY_KEYS: Tuple[str, ...] = ('task_tokens', )
_WRAPPER_PREFIXES: Tuple[str, ...] = ('module.', 'backbone.')


class ViTPoseCheckpointError(RuntimeError):
    """A ViTPose checkpoint does not fit the encoder."""


def vitpose_encoder_state_dict(checkpoint: Mapping[str, Any],
                               source: str = 'ViTPose checkpoint') -> 'OrderedDict[str, Any]':
    """Extract the encoder weights of a ViTPose checkpoint.

    Unwraps ``state_dict`` (or ``model``), strips leading ``module.`` and ``backbone.``
    and drops ``keypoint_head.*``. Other keys are kept, so that validation reports them.

    Args:
        checkpoint: The loaded checkpoint or a bare state dict.
        source: Name of the checkpoint for error messages.

    Returns:
        The encoder state dict with ViT key names (``patch_embed.*``, ``blocks.*``, ...).

    Raises:
        ViTPoseCheckpointError: If ``checkpoint`` is not a mapping of tensors.
    """
    if not isinstance(checkpoint, Mapping):
        raise ViTPoseCheckpointError(f'{source} holds a {type(checkpoint).__name__}, expected '
                                     f'a dict with a state_dict')
    for wrapper in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), Mapping):
            checkpoint = checkpoint[wrapper]
            break
    encoder: OrderedDict[str, Any] = OrderedDict()
    for key, value in checkpoint.items():
        if not isinstance(value, torch.Tensor):
            raise ViTPoseCheckpointError(f'{source}: entry {key!r} is a '
                                         f'{type(value).__name__}, not a tensor')
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(VITPOSE_DROPPED_PREFIXES):
            continue
        encoder[key] = value
    if not encoder:
        raise ViTPoseCheckpointError(f'{source} has no encoder weights (only '
                                     f'{", ".join(VITPOSE_DROPPED_PREFIXES)} keys)')
    return encoder


def load_vitpose_into_encoder(encoder: nn.Module, state_dict: Mapping[str, torch.Tensor],
                              source: str = 'ViTPose checkpoint',
                              allowed_missing: Iterable[str] = ENCODER_ONLY_KEYS
                              ) -> Tuple[str, ...]:
    """Copy ViTPose encoder weights into ``encoder`` after checking names and shapes.

    Args:
        encoder: The ViT (its ``state_dict()`` names are the reference).
        state_dict: Output of :func:`vitpose_encoder_state_dict`.
        source: Name of the checkpoint for error messages.
        allowed_missing: Encoder keys the checkpoint may lack.

    Returns:
        The names of the loaded tensors.

    Raises:
        ViTPoseCheckpointError: Naming every missing, unexpected or mis-shaped key.
    """
    allowed = tuple(allowed_missing)
    expected = {k: v for k, v in encoder.state_dict().items()
                if k in state_dict or k not in allowed}
    # Compare under ViTPose's names so the message can tell ViT sizes apart.
    problem = state_dict_mismatch({f'backbone.{k}': v for k, v in state_dict.items()},
                                  {f'backbone.{k}': v for k, v in expected.items()})
    if problem is not None:
        raise ViTPoseCheckpointError(f'{source} does not fit the encoder '
                                     f'({type(encoder).__name__}): {problem}')
    to_load = dict(state_dict)
    result = encoder.load_state_dict(to_load, strict=False)
    missing = [k for k in result.missing_keys if k not in allowed]
    if missing or result.unexpected_keys:
        raise ViTPoseCheckpointError(f'{source}: load_state_dict left missing {missing} and '
                                     f'unexpected {result.unexpected_keys}')
    return tuple(to_load)


@WEIGHT_INITIALIZERS.register_module(name='ViTPosePretrained')
class ViTPosePretrainedInit:
    """Weight initialiser that loads a ViTPose checkpoint into the ViT encoder.

    The file is read with ``weights_only=True`` on the CPU. Unlike MMEngine's
    ``Pretrained``, a checkpoint that loads nothing (or only part) is an error.

    Args:
        checkpoint: Path of the ViTPose ``.pth`` file.
        allowed_missing: Encoder keys that keep their random init.
    """

    def __init__(self, checkpoint: Union[str, os.PathLike],
                 allowed_missing: Iterable[str] = ENCODER_ONLY_KEYS) -> None:
        self.checkpoint = os.path.expanduser(os.fspath(checkpoint))
        self.allowed_missing = tuple(allowed_missing)
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        """Load the checkpoint into ``module`` (the ViT)."""
        state_dict = vitpose_encoder_state_dict(load_torch_file(self.checkpoint),
                                                self.checkpoint)
        loaded = load_vitpose_into_encoder(module, state_dict, self.checkpoint,
                                           self.allowed_missing)
        kept = [k for k in self.allowed_missing if k not in loaded]
        print_log(f'ViTPosePretrained: loaded {len(loaded)} tensors from {self.checkpoint}; '
                  f'left at their init: {", ".join(kept) or "none"}', logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load from {self.checkpoint}'

