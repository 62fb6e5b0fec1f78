"""Build a SMPLest-X model from a config and load its weights."""

import copy
import itertools
import os
import os.path as osp
from typing import Any, Dict, Iterator, Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import nn

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointMismatchError,
    convert_official_state_dict,
    is_official_checkpoint,
    load_torch_file,
    official_network,
    runner_state_dict,
    validate_state_dict,
)
from smplestx.models.utils.precision import (
    PrecisionChoice,
    apply_precision,
    cast_low_precision_parts,
    resolve_precision,
)
from smplestx.registry import MODELS
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
               body_model_dir: Optional[str] = None, seed: Optional[int] = None,
               precision: Optional[str] = None) -> nn.Module:
    """Build a model from a config, load a checkpoint and put it in eval mode.

    Both official SMPLest-X checkpoints (``.pth.tar`` with ``network``) and converted or
    Runner-saved MMEngine checkpoints load, with ``weights_only=True`` and strict key
    checking (see :func:`read_weights`). The file is memory-mapped and the network is
    built without initialising the weights it replaces, so loading reads only the weights
    (never an optimizer state) and holds them once.

    Args:
        config: Config file or object.
        checkpoint: Weights to load; ``None`` keeps the initial (random) weights.
        device: Device to put the model on.
        cfg_options: Overrides merged into the config.
        body_model_dir: SMPL-X folder for every body model in the config.
        seed: Seed for the initial weights (the global RNG state is restored afterwards).
        precision: ``'fp32'``, ``'bf16'``, ``'fp16'``, ``'int8'`` or ``'auto'`` (see
            :mod:`smplestx.models.utils.precision`); ``None`` uses the config's
            ``precision`` key (``'fp32'`` when absent).

    Returns:
        The model, with ``model.cfg`` set and ``model.precision`` the concrete mode, in
        eval mode.

    Raises:
        FileNotFoundError: If the config or checkpoint does not exist.
        CheckpointFormatError: If the checkpoint is not a torch file.
        CheckpointMismatchError: If its weights do not fit the model (e.g. another size).
        UnsafeCheckpointError: If it holds objects that only full unpickling restores.
        ValueError: For an unknown precision, or one the device cannot run.
    """
    cfg = load_config(config, cfg_options)
    if body_model_dir is not None:
        set_body_model_dir(cfg, body_model_dir)
    choice = resolve_precision(precision if precision is not None else cfg.get('precision'),
                               device)
    init_default_scope(cfg.get('default_scope', 'smplestx'))
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is None:
        model = _build(model_cfg, seed)
    else:
        state_dict = read_weights(checkpoint)
        _drop_pretrained(model_cfg)
        with torch.device('meta'):
            model = _build(model_cfg, seed)
        if not _load_into(model, state_dict, checkpoint, choice):
            # Some tensor is in no checkpoint (e.g. a new project head or buffer): build
            # for real so that it keeps its initialisation.
            model = _build(model_cfg, seed)
            _load_into(model, state_dict, checkpoint, choice)
        del state_dict
    apply_precision(model, choice, device)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def build_meta_network(config: ConfigLike) -> nn.Module:
    """The network of a config on the meta device: the keys and shapes of its checkpoints.

    Built without the SMPL-X body model and the loss (they hold no checkpointed tensors, and
    the SMPL-X files are not needed) and without initialisation, in no time at any size
    (:func:`model_skeleton` in the config's registry scope).
    """
    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'smplestx'))
    return model_skeleton(cfg.model)


def _build(model_cfg: Any, seed: Optional[int]) -> nn.Module:
    """Build ``model_cfg`` with the given seed, leaving the global RNG state as it was."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return MODELS.build(model_cfg)


def read_weights(checkpoint: str) -> Dict[str, Any]:
    """The state dict of a checkpoint, memory-mapped, with smplestx key names.

    Official checkpoints (``network``) are converted; the ``module.`` prefix of wrapped
    models is stripped. Nothing but the state dict is kept, and since the file is mapped,
    nothing else (optimizer, message hub) is ever read from disk; only the members of the
    weights are CRC-checked.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointFormatError: If it is not a torch checkpoint or holds no state dict.
        UnsafeCheckpointError: If it holds objects outside the MMEngine allowlist.
    """
    loaded = load_torch_file(checkpoint, mmap=True, mmengine_globals=True,
                             weights_crc_only=True)
    if is_official_checkpoint(loaded):
        return dict(convert_official_state_dict(official_network(loaded)))
    return runner_state_dict(loaded, checkpoint)


def _load_into(model: nn.Module, state_dict: Dict[str, Any], source: str,
               choice: PrecisionChoice) -> bool:
    """Check ``state_dict`` against ``model`` and make its tensors the model's weights.

    The low-precision parts are first cast to the precision's weight dtype; each tensor is
    then converted to the dtype of the weight it replaces (once; not at all when the
    checkpoint already holds that dtype) and assigned, not copied, so a memory-mapped
    tensor stays mapped. A checkpoint stored in half precision (the converter's
    ``--dtype``) is converted to what the model runs in, with a notice: in fp32 the outputs
    are then those of the fp32 model with rounded weights, not those of the original file.

    Returns:
        Whether every parameter and buffer of the model now holds data (``False`` when
        a model built on the meta device has tensors that the checkpoint lacks).

    Raises:
        CheckpointMismatchError: If keys or shapes do not match (keys under the model's
            ``allow_missing_prefixes`` may be missing).
    """
    cast_low_precision_parts(model, choice.weight_dtype)
    expected = model.state_dict()
    validate_state_dict(state_dict, expected, source=source,
                        ignore=getattr(model, 'allow_missing_prefixes', ()))
    converted = {}
    stored = set()
    for key, value in state_dict.items():
        want = expected[key].dtype
        if value.dtype != want and value.is_floating_point() and want.is_floating_point:
            if value.dtype != torch.float32:
                stored.add(str(value.dtype).replace('torch.', ''))
            value = value.to(want)
        converted[key] = value
    note_stored_dtypes(source, stored, choice)
    model.load_state_dict(converted, strict=False, assign=True)
    return not any(t.is_meta for t in itertools.chain(model.parameters(), model.buffers()))


def note_stored_dtypes(source: str, stored: set, choice: PrecisionChoice) -> None:
    """Say that a half-precision checkpoint's weights were converted for the model."""
    if not stored:
        return
    print_log(f'{source} stores {"/".join(sorted(stored))} weights; those that run in '
              f'float32 (precision {choice.name}) were converted: the outputs are those of '
              f'the original weights rounded to {"/".join(sorted(stored))} (see '
              f'docs/benchmarks.md for the deviation this causes)', logger='current', level=30)


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
    loaded = load_torch_file(checkpoint, mmengine_globals=True)  # memory-mapped, CRC-checked
    state_dict = runner_state_dict(loaded, checkpoint)  # official ones: the model's hook
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
