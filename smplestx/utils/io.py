"""Atomic file writers: a reader never sees a half-written file.

Every writer goes through :func:`atomic_open`, which writes to a hidden temporary file in
the destination folder and moves it into place with :func:`os.replace` only after the
content is complete. If anything fails on the way, the temporary file is removed and the
destination is left as it was (absent, or the previous version).
"""

import contextlib
import hashlib
import io
import json
import os
import os.path as osp
import tempfile
import zipfile
from typing import IO, Any, Iterator, Mapping, Optional, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: Timestamp stored in every npz member so that equal arrays give equal bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class OutputPathError(OSError):
    """An output file or folder cannot be written where it was asked for."""


def check_writable(path: PathLike, folder: bool = False) -> None:
    """Check, before any work, that ``path`` can be created or overwritten.

    Nothing is created: the nearest existing ancestor must be a writable folder, and
    ``path`` itself must not be a folder (for a file) or a file (for a folder).

    Args:
        path: The output file, or folder when ``folder`` is set.
        folder: Whether ``path`` is a folder.

    Raises:
        OutputPathError: Naming the path and the reason.
    """
    path = osp.abspath(os.fspath(path))
    if folder and osp.exists(path) and not osp.isdir(path):
        raise OutputPathError(f'cannot write into {path}: it is a file, not a folder')
    if not folder and osp.isdir(path):
        raise OutputPathError(f'cannot write {path}: it is a folder')
    probe = path if folder else osp.dirname(path)
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise OutputPathError(f'cannot write {path}: {probe} is a file, not a folder')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputPathError(f'cannot write {path}: {probe} is not writable')


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = 'wb', encoding: Optional[str] = None,
                keep_suffix: bool = False) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block exits cleanly.

    Args:
        path: Destination file. Its folder is created if missing.
        mode: ``'wb'`` or ``'w'``.
        encoding: Text encoding for mode ``'w'`` (UTF-8 by default).
        keep_suffix: End the temporary name with the destination's extension, for
            writers that infer the format from the name (e.g. ``cv2.VideoWriter``).

    Yields:
        The open temporary file. Its name is ``handle.name``.

    Raises:
        ValueError: If ``mode`` is not a write mode.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f'atomic_open writes whole files: mode must be "w" or "wb", got {mode!r}')
    path = osp.abspath(os.fspath(path))
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    suffix = osp.splitext(name)[1] if keep_suffix else '.tmp'
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix=suffix, dir=folder)
    try:
        kwargs = {'encoding': encoding or 'utf-8', 'newline': ''} if mode == 'w' else {}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Give a temporary path (same folder, same extension) that replaces ``path`` on success.

    For third-party writers that only accept a file name. The temporary file exists
    (empty) when the block starts; it is removed if the block raises or leaves it empty.
    It is flushed to disk (``fsync``) before the rename, so ``path`` is only ever a whole
    file, even after a crash of the machine.

    Args:
        path: Destination file.

    Yields:
        The temporary path to write to.

    Raises:
        FileNotFoundError: If the block exits leaving the temporary file empty.
    """
    path = osp.abspath(os.fspath(path))
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix=osp.splitext(name)[1], dir=folder)
    os.close(fd)
    try:
        yield tmp
        if not osp.isfile(tmp) or osp.getsize(tmp) == 0:
            raise FileNotFoundError(f'nothing was written for {path}')
        with open(tmp, 'rb') as written:
            os.fsync(written.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def file_sha256(path: PathLike, chunk_size: int = 1 << 24) -> str:
    """SHA-256 hex digest of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk_size), b''):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as handle:
        handle.write(data)


def atomic_write_text(path: PathLike, text: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, obj: Any, indent: Optional[int] = 2) -> None:
    """Serialise ``obj`` as JSON and write it atomically.

    The object is serialised before the file is touched, so an object that cannot be
    serialised leaves no file behind. numpy scalars and arrays are converted.
    """
    text = json.dumps(obj, indent=indent, default=_json_default, allow_nan=False)
    atomic_write_text(path, text + '\n')


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')


def npz_bytes(arrays: Mapping[str, Any], compress: bool = True,
              compresslevel: Optional[int] = None) -> bytes:
    """Encode arrays as an ``.npz`` archive with fixed timestamps (same input, same bytes).

    Args:
        arrays: Name to array-like. Object arrays are refused (they need pickles).
        compress: Deflate the members, as :func:`numpy.savez_compressed` does.
        compresslevel: zlib level 1 (fast) to 9 (small); zlib's default when ``None``.

    Returns:
        The archive bytes, readable with :func:`numpy.load`.

    Raises:
        ValueError: If an array has dtype object.
    """
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, 'w', compression=method, allowZip64=True) as archive:
        for key, value in arrays.items():
            array = np.asanyarray(value)
            if array.dtype == object:
                raise ValueError(f'npz member {key!r} has dtype object; store plain arrays only')
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f'{key}.npy', date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue(), compress_type=method,
                             compresslevel=compresslevel)
    return buffer.getvalue()


def atomic_write_npz(path: PathLike, arrays: Mapping[str, Any], compress: bool = True) -> None:
    """Write arrays to an ``.npz`` file atomically (see :func:`npz_bytes`)."""
    atomic_write_bytes(path, npz_bytes(arrays, compress=compress))


def obj_text(vertices: np.ndarray, faces: np.ndarray) -> str:
    """Format a triangle mesh as Wavefront OBJ text (1-based face indices).

    Args:
        vertices: (V, 3) positions.
        faces: (F, 3) 0-based vertex indices.

    Returns:
        The OBJ text.

    Raises:
        ValueError: If the shapes are wrong or a face index is out of range.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f'vertices must have shape (V, 3), got {vertices.shape}')
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'faces must have shape (F, 3), got {faces.shape}')
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f'face indices must lie in [0, {len(vertices)}), got '
                         f'[{faces.min()}, {faces.max()}]')
    out = io.StringIO()
    np.savetxt(out, vertices, fmt='v %.6f %.6f %.6f')
    np.savetxt(out, faces.astype(np.int64) + 1, fmt='f %d %d %d')
    return out.getvalue()


def save_obj(path: PathLike, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Write a triangle mesh as a Wavefront OBJ file atomically.

    Args:
        path: Destination ``.obj`` file.
        vertices: (V, 3) positions.
        faces: (F, 3) 0-based vertex indices.
    """
    atomic_write_text(path, obj_text(vertices, faces))


def atomic_write_image(path: PathLike, image: np.ndarray, params: Optional[list] = None) -> None:
    """Encode an image with OpenCV (format from the extension) and write it atomically.

    Args:
        path: Destination file, e.g. ``.jpg`` or ``.png``.
        image: (H, W, 3) BGR or (H, W) uint8 image, as :func:`cv2.imwrite` expects.
        params: Optional OpenCV encoder flags.

    Raises:
        ValueError: If OpenCV cannot encode the image for that extension.
    """
    import cv2

    ext = osp.splitext(os.fspath(path))[1] or '.png'
    try:
        ok, buf = cv2.imencode(ext, image, params or [])
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f'OpenCV could not encode an image of shape {image.shape} as {ext} '
                         f'for {path}')
    atomic_write_bytes(path, buf.tobytes())
