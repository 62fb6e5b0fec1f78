"""Official SMPLest-X checkpoints -> smplestx state dicts: key mapping, validation, loading.

The official trainer saves ``{'epoch', 'network', 'optimizer'}`` where ``network`` is the
state dict of a ``DataParallel``/DDP-wrapped model (keys ``module.encoder.*`` and
``module.decoder.*``; the SMPL-X layer buffers are popped before saving). smplestx names
the same tensors ``backbone.*`` and ``head.*``, so the mapping is a pure prefix rename.
The converter tool and the estimator's load hook share this module.
"""

import contextlib
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import torch

from smplestx.utils.checkpoint import UnsafeCheckpointError, mmengine_safe_globals
from smplestx.utils.checkpoint_integrity import CorruptCheckpointError, verify_checkpoint_file

#: Official top-level prefix -> smplestx prefix (after ``module.`` is stripped).
PREFIX_MAP: Tuple[Tuple[str, str], ...] = (('encoder.', 'backbone.'), ('decoder.', 'head.'))
#: Substring renames the official loader applies (SMPLer-X leftovers).
LEGACY_RENAMES: Tuple[Tuple[str, str], ...] = (
    ('backbone', 'encoder'), ('body_rotation_net', 'body_regressor'),
    ('hand_rotation_net', 'hand_regressor'))
#: Keys of the official in-memory model that are not network weights.
DROPPED_SUBSTRINGS: Tuple[str, ...] = ('smplx_layer', )
#: Known encoder widths of the ViT sizes.
VIT_SIZES: Dict[int, str] = {384: 'ViT-S', 768: 'ViT-B', 1024: 'ViT-L', 1280: 'ViT-H'}

_LEGACY_TORCH_MAGIC = b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19'
_OFFICIAL_PREFIXES = ('module.encoder.', 'module.decoder.', 'module.backbone.', 'encoder.',
                      'decoder.')
_SMPLESTX_PREFIXES = ('backbone.', 'head.')
_MAX_LISTED = 4


class CheckpointFormatError(ValueError):
    """A file is not a (weights-only loadable) torch checkpoint of the expected layout."""


class CheckpointMismatchError(RuntimeError):
    """Checkpoint keys or shapes do not match the model."""


#: What a missing or wrong checkpoint raises: the message says everything, so tools report
#: these as one ``error:`` line instead of a traceback.
CHECKPOINT_ERRORS = (FileNotFoundError, CheckpointFormatError, CheckpointMismatchError,
                     UnsafeCheckpointError, CorruptCheckpointError)


def is_official_checkpoint(obj: Any) -> bool:
    """Whether ``obj`` is an official SMPLest-X checkpoint or its ``network`` dict.

    True for a dict with a ``network`` entry, or a state dict whose keys start with
    ``module.encoder.``/``module.decoder.`` (or ``encoder.``/``decoder.`` once MMEngine
    has stripped ``module.``).
    """
    if not isinstance(obj, Mapping):
        return False
    if 'network' in obj and isinstance(obj['network'], Mapping):
        return True
    return any(isinstance(k, str) and k.startswith(_OFFICIAL_PREFIXES) for k in obj)


def is_smplestx_checkpoint(obj: Any) -> bool:
    """Whether ``obj`` is a checkpoint of this project (MMEngine layout, smplestx names).

    True for a dict whose ``state_dict`` (or the dict itself) has ``backbone.*`` or
    ``head.*`` keys (also behind a wrapper's ``module.``): a training checkpoint, a converted
    or a published one.
    """
    if not isinstance(obj, Mapping):
        return False
    state = obj.get('state_dict', obj)
    return isinstance(state, Mapping) and any(
        isinstance(k, str) and re.sub(r'^module\.', '', k).startswith(_SMPLESTX_PREFIXES)
        for k in state)


def official_network(obj: Mapping) -> Mapping:
    """Return the network state dict of an official checkpoint (or ``obj`` itself)."""
    network = obj.get('network', obj)
    if not isinstance(network, Mapping):
        raise CheckpointFormatError(f"official checkpoint has a 'network' entry of type "
                                    f'{type(network).__name__}, expected a state dict')
    return network


def runner_state_dict(obj: Any, path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """The weights of a loaded MMEngine checkpoint (``state_dict``) or bare state dict.

    The ``module.`` prefix of wrapped (DDP) models is stripped.

    Args:
        obj: What :func:`load_torch_file` returned.
        path: The file, for the error message.

    Raises:
        CheckpointFormatError: If ``obj`` holds no state dict.
    """
    state_dict = obj.get('state_dict', obj) if isinstance(obj, Mapping) else obj
    if not isinstance(state_dict, Mapping):
        raise CheckpointFormatError(f'{os.fspath(path)} holds no state dict (found '
                                    f'{type(state_dict).__name__})')
    return {re.sub(r'^module\.', '', key) if isinstance(key, str) else key: value
            for key, value in state_dict.items()}


def convert_official_state_dict(network: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, Any]':
    """Map an official ``network`` state dict onto smplestx names.

    Strips a leading ``module.``, applies the official legacy renames, drops the
    SMPL-X layer buffers and renames ``encoder.`` -> ``backbone.`` and
    ``decoder.`` -> ``head.``. Other keys are kept unchanged, so that validation
    reports them as unexpected.

    Args:
        network: The official state dict (``ckpt['network']``).

    Returns:
        A new ordered state dict with smplestx keys (tensors are not copied).
    """
    converted: OrderedDict[str, Any] = OrderedDict()
    for key, value in network.items():
        if any(s in key for s in DROPPED_SUBSTRINGS):
            continue
        new_key = key[len('module.'):] if key.startswith('module.') else key
        for old, new in LEGACY_RENAMES:
            new_key = new_key.replace(old, new)
        for old, new in PREFIX_MAP:
            if new_key.startswith(old):
                new_key = new + new_key[len(old):]
                break
        converted[new_key] = value
    return converted


def _shape(value: Any) -> Optional[Tuple[int, ...]]:
    return tuple(value.shape) if hasattr(value, 'shape') else None


def _vit_summary(shapes: Mapping[str, Optional[Tuple[int, ...]]]) -> Optional[str]:
    """``embed_dim E, depth D (ViT-X)`` from backbone keys, if present."""
    pos = shapes.get('backbone.pos_embed')
    if not pos:
        return None
    dim = pos[-1]
    blocks = {m.group(1) for k in shapes
              for m in [re.match(r'backbone\.blocks\.(\d+)\.', k)] if m}
    size = VIT_SIZES.get(dim)
    return f'embed_dim {dim}, depth {len(blocks)}' + (f' ({size})' if size else '')


def _listed(keys: List[str]) -> str:
    shown = ', '.join(keys[:_MAX_LISTED])
    more = len(keys) - _MAX_LISTED
    return shown + (f', ... (+{more} more)' if more > 0 else '')


def state_dict_mismatch(state_dict: Mapping[str, Any], expected: Mapping[str, Any],
                        ignore: Iterable[str] = ()) -> Optional[str]:
    """Describe how ``state_dict`` differs from ``expected`` in one line, or None.

    Args:
        state_dict: The checkpoint's (converted) state dict.
        expected: The model's ``state_dict()`` (or any key -> tensor/shape mapping).
        ignore: Key prefixes of the model whose keys the checkpoint may lack (modules it
            does not have); keys it has under them must still exist and fit.

    Returns:
        ``None`` when keys and shapes all match, else a one-line description.
    """
    ignore = tuple(ignore)
    got = {k: _shape(v) for k, v in state_dict.items()}
    want = {k: tuple(v) if isinstance(v, torch.Size) else _shape(v)
            for k, v in expected.items()}
    missing = [k for k in want if k not in got and not k.startswith(ignore)]
    unexpected = [k for k in got if k not in want]
    mismatched = [f'{k} {list(got[k])} vs {list(want[k])}' for k in want
                  if k in got and got[k] is not None and got[k] != want[k]]
    if not (missing or unexpected or mismatched):
        return None
    parts = []
    ckpt_vit, model_vit = _vit_summary(got), _vit_summary(want)
    if ckpt_vit and model_vit and ckpt_vit != model_vit:
        parts.append(f'it has {ckpt_vit} but the model expects {model_vit}')
    if missing:
        parts.append(f'{len(missing)} missing key(s): {_listed(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected key(s): {_listed(unexpected)}')
    if mismatched:
        parts.append(f'{len(mismatched)} shape mismatch(es) (checkpoint vs model): '
                     f'{_listed(mismatched)}')
    return '; '.join(parts)


def validate_state_dict(state_dict: Mapping[str, Any], expected: Mapping[str, Any],
                        source: str = 'checkpoint', ignore: Iterable[str] = ()) -> None:
    """Raise one clear error when ``state_dict`` does not match ``expected``.

    Args:
        state_dict: The checkpoint's (converted) state dict.
        expected: The model's ``state_dict()``.
        source: Name of the checkpoint for the message (usually its path).
        ignore: Key prefixes whose keys may be missing (see :func:`state_dict_mismatch`).

    Raises:
        CheckpointMismatchError: Listing missing and unexpected keys and shape mismatches.
    """
    problem = state_dict_mismatch(state_dict, expected, ignore)
    if problem is not None:
        raise CheckpointMismatchError(f'{source} does not fit the model: {problem}')


def check_torch_file(path: Union[str, os.PathLike], weights_crc_only: bool = False) -> str:
    """Check that ``path`` exists, looks like a ``torch.save`` file and is undamaged.

    Every loading path calls this first, so a zip-format file is CRC-checked
    (:func:`~smplestx.utils.checkpoint_integrity.verify_checkpoint_file`) before it is
    unpickled; ``weights_crc_only`` checks only the members a load of the weights reads
    (for callers that use nothing else, e.g. not an optimizer state).

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointFormatError: If it is neither a torch zip archive nor a legacy
            ``torch.save`` file (e.g. a random or truncated download).
        CorruptCheckpointError: If a zip member fails its CRC or the archive is truncated.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    verify_checkpoint_file(path, weights=weights_crc_only)
    with open(path, 'rb') as f:
        head = f.read(len(_LEGACY_TORCH_MAGIC))
    if not (zipfile.is_zipfile(path) or head == _LEGACY_TORCH_MAGIC):
        raise CheckpointFormatError(f'{path} is not a torch checkpoint: neither a torch zip '
                                    f'archive nor a legacy torch.save file')
    return path


def load_torch_file(path: Union[str, os.PathLike], mmap: bool = True,
                    mmengine_globals: bool = False, weights_crc_only: bool = False) -> Any:
    """Load a torch file with ``weights_only=True`` on the CPU, with one-line errors.

    With ``mmap`` (the default) a zip-format file is memory-mapped: tensors are read from
    disk only when used, so the optimizer state of a training checkpoint (two thirds of
    the released SMPLest-X file) is never read into memory. Legacy (non-zip) files are
    read whole. The tensors of a mapped file share its pages until they are copied, and
    writing to them changes only this process's copy (a private mapping).

    Args:
        path: The file.
        mmap: Memory-map zip-format files.
        mmengine_globals: Also allow the few non-tensor objects of an MMEngine
            checkpoint's ``meta`` (see :func:`smplestx.utils.checkpoint.mmengine_safe_globals`).
        weights_crc_only: The caller uses only the weights (``network``/``state_dict``):
            check the CRCs of those members only (see :func:`check_torch_file`).

    Returns:
        The loaded object.

    Raises:
        FileNotFoundError: If the file does not exist.
        CheckpointFormatError: If it is not a torch checkpoint, or holds Python objects
            that only full unpickling would restore (never done silently).
        UnsafeCheckpointError: With ``mmengine_globals``, if it holds a global outside the
            MMEngine allowlist.
    """
    path = check_torch_file(path, weights_crc_only)
    allow = mmengine_safe_globals(path) if mmengine_globals else contextlib.nullcontext()
    try:
        with allow:
            return torch.load(path, map_location='cpu', weights_only=True,
                              mmap=mmap and zipfile.is_zipfile(path))
    except UnsafeCheckpointError:
        raise
    except pickle.UnpicklingError as err:
        found = re.search(r'GLOBAL ([\w.]+)', str(err))
        what = f'it contains {found.group(1)}' if found else 'it holds Python objects'
        raise CheckpointFormatError(
            f'{path} needs full unpickling ({what}, which weights_only=True loading '
            f'refuses); only if you trust its source, re-save its tensors with '
            f'torch.load(..., weights_only=False) and load that file instead') from err
    except (RuntimeError, EOFError, KeyError, zipfile.BadZipFile) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointFormatError(f'{path} is not a torch checkpoint: {detail}') from err


def load_official_checkpoint(path: Union[str, os.PathLike]) -> 'OrderedDict[str, Any]':
    """Read an official SMPLest-X checkpoint and return its converted state dict.

    Only ``network`` is read; ``epoch`` and ``optimizer`` are ignored.

    Args:
        path: The ``.pth.tar`` file.

    Returns:
        The state dict with smplestx keys (``backbone.*``, ``head.*``).

    Raises:
        CheckpointFormatError: If the file is not a torch checkpoint or not in the
            official layout.
    """
    obj = load_torch_file(path)
    if not is_official_checkpoint(obj):
        keys = list(obj)[:_MAX_LISTED] if isinstance(obj, Mapping) else type(obj).__name__
        raise CheckpointFormatError(f"{os.fspath(path)} is not an official SMPLest-X checkpoint "
                                    f"(no 'network' entry or module.encoder.* keys; found {keys})")
    return convert_official_state_dict(official_network(obj))
