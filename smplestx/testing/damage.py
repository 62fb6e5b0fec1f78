"""Damage copies of files the way disks and interrupted copies do (for robustness tests)."""

import os
import shutil
from typing import Union

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
