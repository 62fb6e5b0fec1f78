"""Safe, lazy access to HumanData ``.npz`` files (the mmhuman3d annotation format, §5.1).

HumanData keeps its body-model parameters and metadata as pickled dicts inside the archive.
``np.load(allow_pickle=True)`` would execute whatever callables such a pickle names, so
:class:`HumanDataFile` unpickles object members with an allow-list (numpy arrays, dtypes and
scalars, plain containers) and loads plain arrays with ``allow_pickle=False``, one key at a
time.
"""

import collections
import importlib
import io
import pickle
import zipfile
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

#: 2D keypoint keys in order of preference (the official ``KPS2D_KEYS``).
KPS2D_KEYS: Tuple[str, ...] = ('keypoints2d', 'keypoints2d_smplx', 'keypoints2d_smpl',
                               'keypoints2d_original')
#: 3D keypoint keys in order of preference (the official ``KPS3D_KEYS``).
KPS3D_KEYS: Tuple[str, ...] = ('keypoints3d_cam', 'keypoints3d', 'keypoints3d_smplx',
                               'keypoints3d_smpl', 'keypoints3d_original')
#: Body-model parameter dicts in order of preference.
BODY_MODEL_KEYS: Tuple[str, ...] = ('smplx', 'smpl', 'smplh')
#: Keys every HumanData file must have (plus one of the 2D keypoint keys and one body model).
REQUIRED_KEYS: Tuple[str, ...] = ('image_path', 'bbox_xywh')


class MalformedHumanDataError(ValueError):
    """A HumanData file lacks a key or holds an array of the wrong shape or type."""


class UnsafeHumanDataError(MalformedHumanDataError):
    """An object member of a HumanData file names a global outside the allow-list."""


_ALLOWED: Dict[Tuple[str, str], Tuple[Tuple[str, str], ...]] = {
    ('numpy', 'ndarray'): (('numpy', 'ndarray'), ),
    ('numpy', 'dtype'): (('numpy', 'dtype'), ),
    ('collections', 'OrderedDict'): (('collections', 'OrderedDict'), ),
    ('_codecs', 'encode'): (('_codecs', 'encode'), ),
}
for _mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
    for _name in ('_reconstruct', 'scalar'):
        _ALLOWED[(_mod, _name)] = (('numpy._core.multiarray', _name),
                                   ('numpy.core.multiarray', _name))


class _AllowListUnpickler(pickle.Unpickler):

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding='latin1')
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        for target_module, target_name in _ALLOWED.get((module, name), ()):
            try:
                return getattr(importlib.import_module(target_module), target_name)
            except (ImportError, AttributeError):
                continue
        raise UnsafeHumanDataError(
            f'{self._source}: refusing to unpickle global {module}.{name}; HumanData object '
            f'members may only hold numpy arrays and plain containers (pass '
            f'allow_unsafe_pickle=True only for files you trust).')


def _read_header(f: io.BufferedIOBase, source: str) -> Tuple[Tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise MalformedHumanDataError(f'{source}: unsupported .npy version {version}')
    return shape, fortran, dtype


class HumanDataFile:
    """Read-only, key-by-key view of a HumanData ``.npz``.

    Args:
        path: The ``.npz`` file.
        allow_unsafe_pickle: Unpickle object members with plain ``pickle`` (only for files
            you trust).

    Raises:
        FileNotFoundError: If the file does not exist.
        MalformedHumanDataError: If the file is not a ``.npz`` archive.
    """

    def __init__(self, path: str, allow_unsafe_pickle: bool = False) -> None:
        self.path = str(path)
        self.allow_unsafe_pickle = allow_unsafe_pickle
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise FileNotFoundError(f'HumanData file not found: {self.path}') from None
        except zipfile.BadZipFile as err:
            raise MalformedHumanDataError(f'{self.path} is not a valid .npz archive: {err}') \
                from err
        self._members = {n[:-4]: n for n in self._zip.namelist() if n.endswith('.npy')}
        self._cache: Dict[str, Any] = {}

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    def __enter__(self) -> 'HumanDataFile':
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    @property
    def keys(self) -> List[str]:
        """Names of all members."""
        return list(self._members)

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def member_info(self, key: str) -> Tuple[Tuple[int, ...], np.dtype]:
        """Shape and dtype of a member, read from its header only."""
        source = f'{self.path}[{key}]'
        with self._zip.open(self._require(key)) as f:
            shape, _, dtype = _read_header(f, source)
        return shape, dtype

    def _require(self, key: str) -> str:
        if key not in self._members:
            raise MalformedHumanDataError(
                f'HumanData file {self.path} is missing key {key!r} (present: '
                f'{sorted(self._members)})')
        return self._members[key]

    def _load(self, key: str) -> np.ndarray:
        if key in self._cache:
            return self._cache[key]
        source = f'{self.path}[{key}]'
        with self._zip.open(self._require(key)) as f:
            shape, fortran, dtype = _read_header(f, source)
            if dtype.hasobject:
                if self.allow_unsafe_pickle:
                    arr = pickle.load(f, encoding='latin1')
                else:
                    arr = _AllowListUnpickler(f, source).load()
            else:
                data = f.read()
                count = int(np.prod(shape)) if shape else 1
                arr = np.frombuffer(data, dtype=dtype, count=count)
                arr = arr.reshape(shape, order='F' if fortran else 'C')
        self._cache[key] = arr
        return arr

    def array(self, key: str) -> np.ndarray:
        """A plain array member (object members are returned as object arrays)."""
        return self._load(key)

    def dict(self, key: str) -> dict:
        """A pickled-dict member (``smplx``, ``meta``, ...)."""
        arr = self._load(key)
        value = arr.item() if isinstance(arr, np.ndarray) and arr.shape == () else arr
        if not isinstance(value, (dict, collections.OrderedDict)):
            raise MalformedHumanDataError(
                f'HumanData file {self.path}: key {key!r} must hold a dict, got '
                f'{type(value).__name__}')
        return dict(value)

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean scalar member such as ``__keypoints_compressed__``."""
        if key not in self:
            return default
        return bool(np.asarray(self._load(key)).reshape(-1)[0])

    def drop(self, key: str) -> None:
        """Forget the cached copy of a member (to release memory)."""
        self._cache.pop(key, None)


def first_present(data: HumanDataFile, keys: Tuple[str, ...]) -> Optional[str]:
    """The first of ``keys`` present in ``data``, or ``None``."""
    return next((k for k in keys if k in data), None)


def keypoint_mask(data: HumanDataFile, key: str, generic: str) -> Optional[np.ndarray]:
    """The ``(K,)`` mask of keypoint ``key``: ``{key}_mask``, else the generic mask."""
    for name in (f'{key}_mask', generic):
        if name in data:
            return np.asarray(data.array(name)).reshape(-1)
    return None


def decompress_keypoints(keypoints: np.ndarray, mask: Optional[np.ndarray], source: str
                         ) -> np.ndarray:
    """Pad compressed keypoints (only the masked-in joints stored) back to the full set.

    Args:
        keypoints: ``(N, K', D)`` stored keypoints.
        mask: ``(K,)`` 0/1 mask of the full set, or ``None``.
        source: File and key for error messages.

    Returns:
        ``(N, K, D)`` keypoints with zeros in the masked-out joints (or the input when it is
        already full-size).
    """
    if mask is None or keypoints.shape[1] == mask.shape[0]:
        return keypoints
    valid = np.flatnonzero(mask)
    if valid.size != keypoints.shape[1]:
        raise MalformedHumanDataError(
            f'{source}: compressed keypoints have {keypoints.shape[1]} joints but the mask '
            f'selects {valid.size} of {mask.shape[0]}')
    out = np.zeros((keypoints.shape[0], mask.shape[0], keypoints.shape[2]), keypoints.dtype)
    out[:, valid] = keypoints
    return out
