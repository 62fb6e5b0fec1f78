"""Safe loading of the SMPL-X / SMPL model files and their auxiliary regressors.

The auxiliary files of SMPLest-X (``SMPLX_to_J14.pkl``, ``MANO_SMPLX_vertex_ids.pkl``, the SMPL
``.pkl`` models) are Python pickles. Unpickling runs whatever callables the file names, so
:func:`load_pickle_safely` only resolves a short allow-list of globals: numpy array
reconstruction and decoding, ``zlib.decompress``, scipy sparse matrices (the real SMPL files
store ``J_regressor`` as a CSC matrix) and the builtins that these need. Anything else, such as
the ``chumpy`` objects of old SMPL releases, is refused with an error naming the file and the
global.
"""

import importlib
import io
import os
import os.path as osp
import pickle
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Set, Tuple

import numpy as np

from smplestx.utils.body_model_files import (
    SMPL_URL,
    SMPLX_AUX_FILES,
    SMPLX_MODEL_FILES,
    SMPLX_URL,
    BodyModelFormatError,
    require_body_model_files,
    resolve_body_model_dir,
)

__all__ = [
    'UnsafePickleError', 'load_pickle_safely', 'check_npz_safe', 'check_smplx_model_file',
    'load_smpl_model_data',
    'SMPLXAssets', 'load_smplx_assets', 'make_hand_regressors', 'HAND_REGRESSOR_SPEC'
]

# (module, name) as written in the pickle -> candidate (module, name) to import, in order.
# Python-2 pickles name ``copy_reg`` / ``__builtin__``; numpy 2 renamed ``numpy.core``.
_ALLOWED_GLOBALS: Dict[Tuple[str, str], Tuple[Tuple[str, str], ...]] = {
    ('numpy', 'frombuffer'): (('numpy', 'frombuffer'), ),
    ('numpy', 'reshape'): (('numpy', 'reshape'), ),
    ('numpy', 'array'): (('numpy', 'array'), ),
    ('numpy', 'ndarray'): (('numpy', 'ndarray'), ),
    ('numpy', 'dtype'): (('numpy', 'dtype'), ),
    ('zlib', 'decompress'): (('zlib', 'decompress'), ),
    ('_codecs', 'encode'): (('_codecs', 'encode'), ),
    ('copy_reg', '_reconstructor'): (('copyreg', '_reconstructor'), ),
    ('copyreg', '_reconstructor'): (('copyreg', '_reconstructor'), ),
    ('__builtin__', 'object'): (('builtins', 'object'), ),
    ('builtins', 'object'): (('builtins', 'object'), ),
}
for _core in ('numpy.core.multiarray', 'numpy._core.multiarray'):
    for _name in ('_reconstruct', 'scalar'):
        _ALLOWED_GLOBALS[(_core, _name)] = (('numpy._core.multiarray', _name),
                                            ('numpy.core.multiarray', _name))
for _core in ('numpy.core.numeric', 'numpy._core.numeric'):
    _ALLOWED_GLOBALS[(_core, '_frombuffer')] = (('numpy._core.numeric', '_frombuffer'),
                                                ('numpy.core.numeric', '_frombuffer'))
for _fmt in ('csc', 'csr', 'coo'):
    for _kind in ('matrix', 'array'):
        _cls = f'{_fmt}_{_kind}'
        _targets = (('scipy.sparse', _cls), )
        for _mod in (f'scipy.sparse.{_fmt}', f'scipy.sparse._{_fmt}', 'scipy.sparse'):
            _ALLOWED_GLOBALS[(_mod, _cls)] = _targets


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list of :func:`load_pickle_safely`."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals in ``_ALLOWED_GLOBALS``."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding='latin1')
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        """Return an allowed global; refuse everything else."""
        targets = _ALLOWED_GLOBALS.get((module, name))
        if targets is None:
            hint = (' (a chumpy pickle: convert it to plain numpy arrays first)'
                    if module.split('.')[0] == 'chumpy' else '')
            raise UnsafePickleError(
                f'{self._source} needs full unpickling (it contains {module}.{name}), which '
                f'smplestx refuses for body-model files: only numpy arrays, scipy sparse '
                f'matrices and their decoders are read{hint}; it was not loaded')
        for target_module, target_name in targets:
            try:
                return getattr(importlib.import_module(target_module), target_name)
            except (ImportError, AttributeError):
                continue
        raise UnsafePickleError(f'Cannot unpickle {self._source}: {module}.{name} is not '
                                f'importable in this environment.')


def load_pickle_safely(path: str) -> Any:
    """Unpickle a body-model file, allowing only numpy/scipy-sparse reconstruction.

    Args:
        path: The ``.pkl`` file.

    Returns:
        The unpickled object (numpy arrays, scipy sparse matrices, dicts, lists, ...).

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafePickleError: If the pickle names any other global (e.g. ``chumpy.ch.Ch``).
    """
    with open(path, 'rb') as f:
        return _RestrictedUnpickler(f, str(path)).load()


def _read_npy_dtype(f: io.BufferedIOBase, source: str) -> np.dtype:
    """Read the header of an ``.npy`` stream and return its dtype (stream left at the data)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)[2]
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)[2]
    raise BodyModelFormatError(f'{source}: unsupported .npy format version {version}')


def check_npz_safe(path: str) -> None:
    """Check that an ``.npz`` holds no pickled object that :func:`load_pickle_safely` refuses.

    ``smplx`` opens SMPL-X ``.npz`` files with ``allow_pickle=True`` (the real v1.1 files hold
    small object arrays such as ``joint2num``). Calling this first makes sure that those
    members contain only plain data.

    Args:
        path: The ``.npz`` file.

    Raises:
        UnsafePickleError: If an object member names a global outside the allow-list.
        BodyModelFormatError: If the file is not a readable ``.npz`` archive.
    """
    try:
        zip_file = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise BodyModelFormatError(f'{path} is not a valid .npz archive: {err}') from err
    with zip_file:
        for member in zip_file.namelist():
            source = f'{path}[{member}]'
            try:
                with zip_file.open(member) as f:
                    if _read_npy_dtype(f, source).hasobject:
                        _RestrictedUnpickler(f, source).load()
            except (zipfile.BadZipFile, EOFError, ValueError) as err:
                if isinstance(err, BodyModelFormatError):
                    raise
                raise BodyModelFormatError(f'{source} is damaged: {err}') from err


#: Arrays of an SMPL-X ``.npz`` that ``smplx`` reads (``use_pca=False``,
#: ``use_face_contour=True``), with their shapes: V vertices, J joints, F faces, L landmarks.
SMPLX_NPZ_ARRAYS: Dict[str, Tuple[Any, ...]] = {
    'v_template': ('V', 3),
    'shapedirs': ('V', 3, '>=20'),
    'posedirs': ('V', 3, 'P'),
    'J_regressor': ('J', 'V'),
    'weights': ('V', 'J'),
    'kintree_table': (2, 'J'),
    'f': ('F', 3),
    'hands_meanl': (45, ),
    'hands_meanr': (45, ),
    'lmk_faces_idx': ('L', ),
    'lmk_bary_coords': ('L', 3),
    'dynamic_lmk_faces_idx': ('D', 'C'),
    'dynamic_lmk_bary_coords': ('D', 'C', 3),
}


#: Arrays of an SMPL ``.pkl`` that ``smplx.SMPL`` reads, with their shapes.
SMPL_PKL_ARRAYS: Dict[str, Tuple[Any, ...]] = {
    'v_template': ('V', 3),
    'shapedirs': ('V', 3, '>=10'),
    'posedirs': ('V', 3, 'P'),
    'J_regressor': ('J', 'V'),
    'weights': ('V', 'J'),
    'kintree_table': (2, 'J'),
    'f': ('F', 3),
}

#: Model files that passed :func:`check_smplx_model_file` (real path, size, mtime, inode).
_CHECKED_MODEL_FILES: Set[Tuple[str, int, int, int]] = set()


def _match_shape(shape: Tuple[int, ...], spec: Tuple[Any, ...], sizes: Dict[str, int]
                 ) -> Optional[str]:
    """Check ``shape`` against ``spec`` (numbers, ``'>=n'`` or size names bound in ``sizes``)."""
    if len(shape) != len(spec):
        return f'{len(shape)} dimensions, expected {len(spec)}'
    for got, want in zip(shape, spec):
        if isinstance(want, int) and got != want:
            return f'size {got} where {want} is expected'
        if isinstance(want, str) and want.startswith('>='):
            if got < int(want[2:]):
                return f'size {got} where at least {want[2:]} is expected'
        elif isinstance(want, str):
            if sizes.setdefault(want, got) != got:
                return f'{want} = {got} but {sizes[want]} elsewhere'
    return None


def check_smplx_model_file(path: str) -> None:
    """Check an SMPL-X model ``.npz`` before ``smplx`` reads it, with one-line errors.

    Object members are only read by the restricted unpickler (see :func:`check_npz_safe`);
    every array ``smplx`` needs must be present with consistent shapes (one vertex count,
    one joint count, ``posedirs`` with 9 values per non-root joint, faces indexing existing
    vertices) and finite values.

    Args:
        path: The ``SMPLX_*.npz`` file.

    Raises:
        UnsafePickleError: If an object member would need full unpickling.
        BodyModelFormatError: Naming the file and the array that is missing, misshapen or
            not finite.
    """
    stat = os.stat(path)
    identity = (osp.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if identity in _CHECKED_MODEL_FILES:
        return
    check_npz_safe(path)
    with np.load(path, allow_pickle=False) as data:
        check_model_arrays(path, data, data.files, SMPLX_NPZ_ARRAYS, f'an SMPL-X model file '
                           f'(from {SMPLX_URL})')
    _CHECKED_MODEL_FILES.add(identity)


def load_smpl_model_data(path: str) -> Dict[str, Any]:
    """Read an SMPL ``.pkl`` safely and check it like :func:`check_smplx_model_file`.

    Args:
        path: The ``SMPL_*.pkl`` file.

    Returns:
        Its arrays, as :func:`load_pickle_safely` read them.

    Raises:
        UnsafePickleError: If it needs objects outside the allow-list.
        BodyModelFormatError: If it is not a dict of the SMPL arrays, or one is missing,
            misshapen or not finite.
    """
    data = load_pickle_safely(path)
    if not isinstance(data, dict):
        raise BodyModelFormatError(f'{path} must hold a dict of SMPL arrays, got '
                                   f'{type(data).__name__}')
    check_model_arrays(path, data, list(data), SMPL_PKL_ARRAYS,
                       f'an SMPL model file (from {SMPL_URL})')
    return data


def check_model_arrays(path: str, data: Any, names: Sequence[str],
                       specs: Dict[str, Tuple[Any, ...]], kind: str) -> None:
    """Check a body model's arrays: present, of consistent shapes, finite.

    Args:
        path: The file, for the messages.
        data: Array name -> array (numpy, or scipy sparse for an SMPL ``J_regressor``).
        names: The names ``data`` holds.
        specs: Name -> shape spec (numbers, ``'>=n'`` or size names; ``V`` vertices, ``J``
            joints, ``P`` pose directions).
        kind: What the file should be, for the message about missing arrays.

    Raises:
        BodyModelFormatError: Naming the file and the array that is missing, misshapen or
            not finite.
    """
    missing = [k for k in specs if k not in names]
    if missing:
        raise BodyModelFormatError(f'{path} lacks the array(s) {", ".join(missing)}; is it '
                                   f'{kind}?')
    sizes: Dict[str, int] = {}
    for key, spec in specs.items():
        try:
            array = data[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise BodyModelFormatError(f'{path}: array {key!r} cannot be read: {err}') from err
        values = np.asarray(array.data if _is_sparse(array) else array)
        shape = tuple(getattr(array, 'shape', values.shape))
        problem = _match_shape(shape, spec, sizes)
        if problem is None and values.dtype.kind == 'f' and not np.isfinite(values).all():
            problem = f'{int((~np.isfinite(values)).sum())} NaN or infinite value(s)'
        if problem is not None:
            raise BodyModelFormatError(f'{path}: array {key!r} of shape {shape} has {problem}')
        if key == 'f' and values.size and (values.min() < 0 or values.max() >= sizes['V']):
            raise BodyModelFormatError(f'{path}: faces index vertices outside '
                                       f'[0, {sizes["V"]})')
    if sizes['P'] != 9 * (sizes['J'] - 1):
        raise BodyModelFormatError(f'{path}: posedirs has {sizes["P"]} pose directions but '
                                   f'{sizes["J"]} joints need {9 * (sizes["J"] - 1)}')


def _is_sparse(array: Any) -> bool:
    """Whether ``array`` is a scipy sparse matrix (the real SMPL files' ``J_regressor``)."""
    return type(array).__module__.startswith('scipy.sparse')


#: Hand regressor layout (spec §4.3): the wrist row, then per finger (thumb, index, middle,
#: ring, pinky) three ``J_regressor`` rows and one fingertip vertex.
HAND_REGRESSOR_SPEC: Dict[str, Tuple[int, Tuple[Tuple[Tuple[int, int, int], int], ...]]] = {
    'left': (20, (((37, 38, 39), 5361), ((25, 26, 27), 4933), ((28, 29, 30), 5058),
                  ((34, 35, 36), 5169), ((31, 32, 33), 5286))),
    'right': (21, (((52, 53, 54), 8079), ((40, 41, 42), 7669), ((43, 44, 45), 7794),
                   ((49, 50, 51), 7905), ((46, 47, 48), 8022))),
}


def make_hand_regressors(j_regressor: np.ndarray) -> Dict[str, np.ndarray]:
    """Build the 21-joint hand regressors from the SMPL-X joint regressor.

    Args:
        j_regressor: The (55, V) SMPL-X ``J_regressor``.

    Returns:
        ``{'left': (21, V), 'right': (21, V)}`` float64 regressors (float64 like the official
        ones, so that the hand metrics keep their precision).
    """
    num_verts = j_regressor.shape[1]
    regressors = {}
    for side, (wrist, fingers) in HAND_REGRESSOR_SPEC.items():
        rows = [j_regressor[wrist].astype(np.float64)]
        for joints, tip_vertex in fingers:
            rows.extend(j_regressor[j].astype(np.float64) for j in joints)
            tip = np.zeros(num_verts, dtype=np.float64)
            tip[tip_vertex] = 1.0
            rows.append(tip)
        regressors[side] = np.stack(rows, axis=0)
    return regressors


@dataclass
class SMPLXAssets:
    """Auxiliary SMPL-X data used by the metrics and the datasets.

    Attributes:
        j14_regressor: (14, V) float32 LSP-14 regressor (``SMPLX_to_J14.pkl``).
        hand_vertex_ids: ``{'left', 'right'}`` -> (778,) int64 MANO vertex ids.
        face_vertex_ids: (5023,) int64 FLAME head vertex ids.
        J_regressor: (55, V) float32 joint regressor of the neutral model.
        hand_regressors: ``{'left', 'right'}`` -> (21, V) float64 hand regressors (wrist,
            then per finger thumb..pinky: three LBS joints and the tip vertex).
        faces: (F, 3) int64 triangles.
        parents: (55,) int64 kinematic parents (-1 for the pelvis).
    """

    j14_regressor: np.ndarray
    hand_vertex_ids: Dict[str, np.ndarray]
    face_vertex_ids: np.ndarray
    J_regressor: np.ndarray
    hand_regressors: Dict[str, np.ndarray]
    faces: np.ndarray
    parents: np.ndarray

    @property
    def num_vertices(self) -> int:
        """Number of SMPL-X vertices (10475 for the real model)."""
        return int(self.J_regressor.shape[1])


def _load_npz_arrays(path: str, keys: Tuple[str, ...]) -> Dict[str, np.ndarray]:
    """Read plain (non-object) arrays from an ``.npz``, naming the file on failure."""
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise KeyError(f'{path} lacks the array(s) {", ".join(missing)}; is it an '
                           f'SMPL-X model file?')
        return {k: data[k] for k in keys}


def load_smplx_assets(body_model_dir: Optional[str] = None) -> SMPLXAssets:
    """Load the SMPL-X regressors and vertex subsets from a body-model folder.

    Args:
        body_model_dir: The folder holding ``smplx/``; ``None`` uses
            ``$SMPLESTX_BODY_MODELS``.

    Returns:
        The loaded :class:`SMPLXAssets`.

    Raises:
        BodyModelFilesError: If the folder or a needed file is missing.
        UnsafePickleError: If a pickle holds anything but plain arrays.
    """
    root = resolve_body_model_dir(body_model_dir)
    require_body_model_files(root, SMPLX_MODEL_FILES + SMPLX_AUX_FILES)
    j14_path, hand_ids_path, face_ids_path = (osp.join(root, p) for p in SMPLX_AUX_FILES)

    j14 = np.asarray(load_pickle_safely(j14_path), dtype=np.float32)
    hand_ids = load_pickle_safely(hand_ids_path)
    if not isinstance(hand_ids, dict) or not {'left_hand', 'right_hand'} <= set(hand_ids):
        raise ValueError(f'{hand_ids_path} must hold a dict with keys left_hand, right_hand')
    face_ids = np.load(face_ids_path, allow_pickle=False).astype(np.int64)

    model_path = osp.join(root, SMPLX_MODEL_FILES[0])
    check_smplx_model_file(model_path)
    model = _load_npz_arrays(model_path, ('J_regressor', 'f', 'kintree_table'))
    j_regressor = np.asarray(model['J_regressor'], dtype=np.float32)
    parents = model['kintree_table'][0].astype(np.int64)
    parents[0] = -1
    return SMPLXAssets(
        j14_regressor=j14,
        hand_vertex_ids={
            'left': np.asarray(hand_ids['left_hand'], dtype=np.int64),
            'right': np.asarray(hand_ids['right_hand'], dtype=np.int64),
        },
        face_vertex_ids=face_ids,
        J_regressor=j_regressor,
        hand_regressors=make_hand_regressors(j_regressor),
        faces=model['f'].astype(np.int64),
        parents=parents,
    )
