"""Damage copies of files the way disks and interrupted copies do (for robustness tests)."""

import os
import shutil
from typing import Callable, Union

import numpy as np

PathLike = Union[str, os.PathLike]


def damaged_copy(src: PathLike, dst: PathLike, flip: int = 4096, keep: float = 1.0) -> str:
    """Copy ``src`` to ``dst``, then invert ``flip`` bytes in its middle and/or truncate it.

    Args:
        src: The original file (left untouched).
        dst: Where the damaged copy goes.
        flip: Bytes to invert (XOR 0xFF, so every one changes) around the middle; 0 for none.
        keep: Share of the file to keep (1.0: no truncation).

    Returns:
        ``dst`` as a string.
    """
    shutil.copyfile(src, dst)
    size = os.path.getsize(dst)
    with open(dst, 'r+b') as f:
        if flip:
            f.seek(size // 2)
            block = f.read(flip)
            f.seek(size // 2)
            f.write(bytes(b ^ 0xFF for b in block))
        if keep < 1.0:
            f.truncate(int(size * keep))
    return os.fspath(dst)


def edited_humandata(src: PathLike, dst: PathLike, edit: Callable[[dict], None]) -> str:
    """Write a copy of a HumanData ``.npz`` after ``edit`` changed its content in place.

    Args:
        src: The original file (read with the allow-listed unpickler).
        dst: The edited copy.
        edit: Gets ``{key: array, or dict for the smplx/meta members}``.

    Returns:
        ``dst`` as a string.
    """
    from smplestx.datasets.utils.humandata_io import HumanDataFile

    with HumanDataFile(os.fspath(src)) as data:
        content = {}
        for key in data.keys:
            value = data.array(key)
            is_dict = value.dtype == object and value.shape == ()
            content[key] = data.dict(key) if is_dict else np.array(value)
    edit(content)
    np.savez(dst, **content)
    return os.fspath(dst)
