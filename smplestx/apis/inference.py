"""Build a SMPLest-X model from a config and load its weights."""

import copy
import os
import os.path as osp
import re
from typing import Any, Iterator, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, load_state_dict
from torch import nn

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointFormatError,
    CheckpointMismatchError,
    check_torch_file,
    is_official_checkpoint,
    load_torch_file,
    validate_state_dict,
)
from smplestx.registry import MODELS
from smplestx.utils.checkpoint import mmengine_safe_globals
from smplestx.utils.config_check import read_config

ConfigLike = Union[str, os.PathLike, Config, ConfigDict, dict]


def load_config(config: ConfigLike, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file (or copy a config object) and merge ``cfg_options``.

    Raises:
        FileNotFoundError: If a config path does not exist.
        ConfigError: If the config file cannot be read (syntax error, failing code).
        TypeError: If ``config`` is of an unsupported type.
    """
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file {path} does not exist')
        cfg = read_config(path)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, dict):
        cfg = Config(copy.deepcopy(dict(config)))
    else:
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _body_model_cfgs(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        if 'body_model_dir' in node:
            yield node
        for value in node.values():
            yield from _body_model_cfgs(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _body_model_cfgs(value)


def set_body_model_dir(cfg: Config, body_model_dir: str) -> int:
    """Point every ``body_model_dir`` entry of ``cfg.model`` at a folder.

    Returns:
        How many entries were set.
    """
    count = 0
    for node in _body_model_cfgs(cfg.model):
        node['body_model_dir'] = os.fspath(body_model_dir)
        count += 1
    return count


def body_model_dirs(cfg: Config) -> list:
    """The ``body_model_dir`` values of ``cfg.model`` (``None`` means the environment)."""
    return [node['body_model_dir'] for node in _body_model_cfgs(cfg.model)]


def init_model(config: ConfigLike, checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu', cfg_options: Optional[dict] = None,
               body_model_dir: Optional[str] = None, seed: Optional[int] = None) -> nn.Module:
    """Build a model from a config, load a checkpoint and put it in eval mode.

    Both official SMPLest-X checkpoints (``.pth.tar`` with ``network``) and converted or
    Runner-saved MMEngine checkpoints load, with ``weights_only=True`` and strict key
    checking (see :func:`load_weights`).

    Args:
        config: Config file or object.
        checkpoint: Weights to load; ``None`` keeps the initial (random) weights.
        device: Device to put the model on.
        cfg_options: Overrides merged into the config.
        body_model_dir: SMPL-X folder for every body model in the config.
        seed: Seed for the initial weights (the global RNG state is restored afterwards).

    Returns:
        The model, with ``model.cfg`` set, in eval mode.

    Raises:
        FileNotFoundError: If the config or checkpoint does not exist.
        CheckpointFormatError: If the checkpoint is not a torch file.
        CheckpointMismatchError: If its weights do not fit the model (e.g. another size).
        UnsafeCheckpointError: If it holds objects that only full unpickling restores.
    """
    cfg = load_config(config, cfg_options)
    if body_model_dir is not None:
        set_body_model_dir(cfg, body_model_dir)
    if checkpoint is not None:
        check_torch_file(checkpoint)
    init_default_scope(cfg.get('default_scope', 'smplestx'))
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is not None:
        _drop_pretrained(model_cfg)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint`` into ``model`` strictly, with a one-line error on mismatch.

    An MMEngine checkpoint (``state_dict``) is compared with the model first, so that one
    for another model size fails with :class:`CheckpointMismatchError` naming the sizes and
    keys, instead of PyTorch's list of every mismatch; an official checkpoint is checked
    (and converted) by the model's own load hook. The file is read once, with
    ``weights_only=True``.
    """
    with mmengine_safe_globals(checkpoint):
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu',
                                                  logger='current')
    if not isinstance(loaded, dict):
        raise CheckpointFormatError(f'{checkpoint} holds no state dict '
                                    f'(found {type(loaded).__name__})')
    state_dict = loaded.get('state_dict', loaded)
    state_dict = {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}
    if not is_official_checkpoint(state_dict):
        validate_state_dict(state_dict, model.state_dict(), source=checkpoint)
    load_state_dict(model, state_dict, strict=True, logger='current')


def model_skeleton(model_cfg: Union[dict, ConfigDict]) -> nn.Module:
    """Build a model's layers on the meta device: its state-dict keys and shapes, no memory.

    Pretrained initialisers are dropped, and so are the head's body model and loss, which
    read files and hold no checkpointed tensors. Build in the registry scope of the config
    (:func:`mmengine.registry.init_default_scope`).

    Args:
        model_cfg: The ``model`` entry of a config (not changed).

    Returns:
        The model, on the meta device.
    """
    model_cfg = copy.deepcopy(model_cfg)
    _drop_pretrained(model_cfg)
    head = model_cfg.get('head')
    if isinstance(head, dict):
        head.update(body_model=None, loss=None)
    with torch.device('meta'):
        return MODELS.build(model_cfg)


def check_checkpoint(cfg: Config, checkpoint: str) -> None:
    """Check, before anything is built, that ``checkpoint`` will load into ``cfg.model``.

    The file must exist, be an undamaged torch checkpoint (zip CRCs) loadable with
    ``weights_only=True`` and fit the model as the Runner's ``load_from`` loads it
    (official checkpoints are converted by the model's load hook; MMEngine ones must have
    the model's shapes).

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointFormatError: If it is not a (weights-only loadable) torch checkpoint.
        CorruptCheckpointError: If it is damaged.
        CheckpointMismatchError: If its weights do not fit the model, naming the file.
    """
    check_torch_file(checkpoint)
    with mmengine_safe_globals(checkpoint):
        loaded = load_torch_file(checkpoint)
    if not isinstance(loaded, dict):
        raise CheckpointFormatError(f'{checkpoint} holds no state dict '
                                    f'(found {type(loaded).__name__})')
    state_dict = loaded.get('state_dict', loaded)
    state_dict = {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}
    init_default_scope(cfg.get('default_scope', 'smplestx'))
    skeleton = model_skeleton(cfg.model)
    try:
        skeleton.load_state_dict(state_dict, strict=False, assign=True)
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(f'{checkpoint}: {err}') from None
    except RuntimeError as err:
        detail = ' '.join(str(err).split())
        raise CheckpointMismatchError(f'{checkpoint} does not fit the model: {detail}') \
            from None


def _drop_pretrained(node: Any) -> None:
    """Remove pretrained-weight initialisers: the checkpoint replaces them."""
    if isinstance(node, dict):
        if node.get('init_cfg') is not None:
            node['init_cfg'] = None
        node.pop('pretrained', None)
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)
