"""Safe (``weights_only=True``) loading of MMEngine checkpoints on torch >= 2.6.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True``, and every checkpoint the Runner writes fails to load because its
``meta`` holds a few non-tensor objects (the message hub's ``HistoryBuffer``, numpy
arrays and scalars). This module is the one place that fixes it: an allowlist of
exactly those globals, applied with :func:`torch.serialization.safe_globals` around the
load. Nothing is unpickled beyond the allowlist, and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
is never set. A checkpoint with anything else in it is refused with a message naming
the global.
"""

import contextlib
import pickle
import re
from typing import Iterator, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a Python object outside the allowlist."""


def _numpy_globals() -> List:
    """Numpy callables and types that plain arrays and scalars pickle through."""
    names = []
    core = getattr(np, '_core', None) or np.core
    names.append(core.multiarray._reconstruct)
    names.append(core.multiarray.scalar)
    names.extend([np.ndarray, np.dtype])
    for dtype_name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                       'Int32DType', 'Int16DType', 'Int8DType', 'UInt8DType', 'BoolDType',
                       'UInt16DType', 'UInt32DType', 'UInt64DType', 'StrDType',
                       'ObjectDType'):
        dtype_cls = getattr(getattr(np, 'dtypes', None), dtype_name, None)
        if dtype_cls is not None:
            names.append(dtype_cls)
    return names


def _history_buffer_method(owner: object, name: str) -> object:
    """A ``getattr`` restricted to the statistics methods of ``HistoryBuffer``.

    ``HistoryBuffer`` pickles its ``_statistics_methods`` dict as
    ``getattr(HistoryBuffer, 'mean')`` and so on; this stands in for ``builtins.getattr``
    during loading and resolves nothing else.
    """
    allowed = {'min', 'max', 'mean', 'current', *HistoryBuffer._statistics_methods}
    if owner is not HistoryBuffer or name not in allowed:
        raise UnsafeCheckpointError(
            f'refusing getattr({owner!r}, {name!r}) while loading a checkpoint')
    return getattr(HistoryBuffer, name)


def _empty_bytes(*args: object) -> bytes:
    """``bytes()``, as pickle protocol 2 writes an empty byte string, and nothing else.

    ``torch.save`` pickles with protocol 2, which stores ``b''`` (the data of an empty
    numpy array, e.g. in a ``HistoryBuffer`` without values) as a call of ``bytes``; this
    stands in for ``builtins.bytes`` during loading and refuses any argument (``bytes(n)``
    would allocate ``n`` bytes).
    """
    if args:
        raise UnsafeCheckpointError(f'refusing bytes{args!r} while loading a checkpoint')
    return b''


def mmengine_checkpoint_safe_globals() -> List:
    """The globals an MMEngine checkpoint (model, optimizer, scheduler, meta) contains."""
    return [HistoryBuffer, (_history_buffer_method, 'builtins.getattr'),
            (_empty_bytes, 'builtins.bytes'), *_numpy_globals()]


@contextlib.contextmanager
def mmengine_safe_globals(filename: str = '<checkpoint>') -> Iterator[None]:
    """Allow exactly the MMEngine checkpoint globals while loading ``filename``.

    Args:
        filename: Used in the error message when a global is refused.

    Raises:
        UnsafeCheckpointError: If the file holds a global outside the allowlist.
    """
    try:
        with torch.serialization.safe_globals(mmengine_checkpoint_safe_globals()):
            yield
    except pickle.UnpicklingError as err:
        if isinstance(err, UnsafeCheckpointError):
            raise
        refused = re.search(r'refusing (.+?) while loading a checkpoint', str(err))
        match = re.search(r'GLOBAL ([\w.]+)', str(err)) or re.search(
            r'global[: ]+([\w.]+)', str(err), re.IGNORECASE)
        name = (f'a call {refused.group(1)}' if refused else
                match.group(1) if match else 'an unsupported object')
        raise UnsafeCheckpointError(
            f'Refusing to load {filename}: it contains {name}, which is not in '
            f'smplestx\'s allowlist for weights_only=True loading. Only load it with '
            f'full unpickling if you trust its source.') from err
