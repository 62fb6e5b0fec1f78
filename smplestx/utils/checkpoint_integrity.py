"""Detect damaged checkpoint files before they are unpickled: the zip members' CRC-32s.

``torch.save`` writes a zip archive (stored, uncompressed) and records the CRC-32 of every
member, but ``torch.load`` never checks them: a file with flipped bytes in a tensor loads
and silently gives other outputs. :func:`verify_checkpoint_file` streams every member
through :mod:`zipfile`'s CRC check (1 MiB at a time, nothing is unpickled) and raises one
clear error naming the file and the first damaged member. A file that passed is remembered
for the rest of the process (by path, size, modification time and inode), so loading it
again costs nothing.

Legacy (pre-zip) ``torch.save`` files hold no checksums and are passed through unchecked.
"""

import os
import zipfile
from typing import Set, Tuple, Union

_ZIP_MAGIC = b'PK\x03\x04'
#: Files verified in this process: (real path, size, mtime_ns, inode).
_VERIFIED: Set[Tuple[str, int, int, int]] = set()


class CorruptCheckpointError(ValueError):
    """A checkpoint file is damaged: a member fails its CRC or the archive is unreadable."""


def _identity(path: str) -> Tuple[str, int, int, int]:
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino


def verify_checkpoint_file(path: Union[str, os.PathLike]) -> bool:
    """Check the CRC-32 of every member of a zip-format torch checkpoint.

    Args:
        path: The checkpoint file (it must exist).

    Returns:
        ``True`` when the file is a zip archive whose members all match their CRCs;
        ``False`` for a non-zip file (legacy ``torch.save`` format: nothing to check).

    Raises:
        CorruptCheckpointError: If a member's data does not match its recorded CRC or
            the archive's structure is damaged (e.g. a truncated or partly overwritten
            file).
    """
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            if f.read(4) == _ZIP_MAGIC:
                raise CorruptCheckpointError(
                    f'{path} is incomplete: a zip archive without its central directory '
                    f'(a truncated download or an interrupted save); copy or download it '
                    f'again')
        return False
    key = _identity(path)
    if key in _VERIFIED:
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        raise CorruptCheckpointError(
            f'{path} is damaged ({str(err) or type(err).__name__}); copy or download it '
            f'again') from err
    if bad is not None:
        raise CorruptCheckpointError(
            f'{path} is damaged: member {bad} fails its CRC-32 check (partly overwritten or '
            f'incompletely copied); copy or download it again, or use another checkpoint')
    _VERIFIED.add(key)
    return True
