"""Detect damaged checkpoint files before they are unpickled: the zip members' CRC-32s.

``torch.save`` writes a zip archive (stored, uncompressed) and records the CRC-32 of every
member, but ``torch.load`` never checks them: a file with flipped bytes in a tensor loads
and silently gives other outputs. :func:`verify_checkpoint_file` streams every member
through ``zlib.crc32`` (4 MiB at a time, a few members in parallel threads: the CRC and the
reads release the GIL; nothing is unpickled) and raises one clear error naming the file and
the first damaged member. ``weights=True`` checks only the members that a load of the weights
reads (:func:`~smplestx.utils.checkpoint_members.weight_members`: not the optimizer state of
a training checkpoint, which inference never uses). A file that passed is remembered for the
rest of the process (by path, size, modification time, inode and scope), so loading it again
costs nothing.

Legacy (pre-zip) ``torch.save`` files hold no checksums and are passed through unchecked.
"""

import os
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Set, Tuple, Union

from smplestx.utils.checkpoint_members import weight_members

_ZIP_MAGIC = b'PK\x03\x04'
_LOCAL_HEADER = struct.Struct('<4s22xHH')  # signature ... name length, extra length
_CHUNK = 4 << 20
#: Files verified in this process: ((real path, size, mtime_ns, inode), weights only).
_VERIFIED: Set[Tuple[Tuple[str, int, int, int], bool]] = set()


class CorruptCheckpointError(ValueError):
    """A checkpoint file is damaged: a member fails its CRC or the archive is unreadable."""


def _identity(path: str) -> Tuple[str, int, int, int]:
    stat = os.stat(path)
    return os.path.realpath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino


def verify_checkpoint_file(path: Union[str, os.PathLike], weights: bool = False) -> bool:
    """Check the CRC-32 of every member of a zip-format torch checkpoint.

    Args:
        path: The checkpoint file (it must exist).
        weights: Check only the members a load of the weights reads (the pickle and the
            storages under ``network``/``state_dict``); all of them when the layout is not
            recognised.

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
    if (key, False) in _VERIFIED or (key, weights) in _VERIFIED:
        return True
    try:
        wanted = weight_members(path) if weights else None
        with zipfile.ZipFile(path) as archive:
            members = sorted((m for m in archive.infolist()
                              if wanted is None or m.filename in wanted),
                             key=lambda m: -m.compress_size)
            threads = max(1, min(4, os.cpu_count() or 1, len(members)))
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(lambda m: _member_is_whole(path, archive, m),
                                        members))
        bad = next((m.filename for m, ok in zip(members, results) if not ok), None)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as err:
        raise CorruptCheckpointError(
            f'{path} is damaged ({str(err) or type(err).__name__}); copy or download it '
            f'again') from err
    if bad is not None:
        raise CorruptCheckpointError(
            f'{path} is damaged: member {bad} fails its CRC-32 check (partly overwritten or '
            f'incompletely copied); copy or download it again, or use another checkpoint')
    _VERIFIED.add((key, weights and wanted is not None))
    return True


def _member_is_whole(path: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether ``member``'s data matches the CRC-32 of the central directory."""
    if member.compress_type != zipfile.ZIP_STORED:  # not torch's layout: let zipfile check
        try:
            with archive.open(member) as f:
                while f.read(_CHUNK):
                    pass
        except zipfile.BadZipFile:
            return False
        return True
    crc = 0
    with open(path, 'rb') as f:
        f.seek(member.header_offset)
        magic, name_len, extra_len = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
        if magic != _ZIP_MAGIC:
            return False
        f.seek(member.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
        buffer = memoryview(bytearray(min(_CHUNK, max(member.compress_size, 1))))
        remaining = member.compress_size
        while remaining:
            size = f.readinto(buffer[:min(remaining, len(buffer))])
            if not size:
                return False  # truncated
            crc = zlib.crc32(buffer[:size], crc)
            remaining -= size
    return crc == member.CRC
