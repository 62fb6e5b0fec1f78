"""Small videos for tests, intact or damaged: a frame's bytes zeroed, or a file cut short.

OpenCV's ``mp4v`` writer puts one sample per frame in a single chunk, with the index
(``moov``) after the data (``mdat``). The sample table gives each frame's bytes.
"""

import struct
from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import numpy as np

#: The bundled demo image the videos are made from.
IMAGE = Path(__file__).resolve().parents[2] / 'demo' / 'astronaut.jpg'


def write_video(path: Path, frames: int, size: Tuple[int, int] = (160, 120),
                fps: float = 10.0, image: Path = IMAGE) -> None:
    """A small ``mp4v`` video of ``image`` panning, its number drawn on every frame."""
    image = cv2.resize(cv2.imread(str(image)), size)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    for i in range(frames):
        frame = np.roll(image, 4 * i, axis=1).copy()
        cv2.putText(frame, str(i), (8, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 255), 2)
        writer.write(frame)
    writer.release()


def _boxes(data: bytes, start: int, end: int) -> Iterator[Tuple[str, int, int, int]]:
    i = start
    while i < end:
        size, kind = struct.unpack('>I4s', data[i:i + 8])
        yield kind.decode('latin1'), i, i + 8, i + size
        i += size


def _find(data: bytes, path: List[str], start: int = 0, end: int = -1) -> Tuple[int, int]:
    end = len(data) if end < 0 else end
    for kind, _, body, stop in _boxes(data, start, end):
        if kind == path[0]:
            return (body, stop) if len(path) == 1 else _find(data, path[1:], body, stop)
    raise ValueError(f'no {path[0]} box')


_STBL = ['moov', 'trak', 'mdia', 'minf', 'stbl']


def sample_ranges(data: bytes) -> List[Tuple[int, int]]:
    """``(offset, size)`` of every frame of a one-chunk ``mp4v`` file."""
    body, _ = _find(data, _STBL + ['stsz'])
    fixed, count = struct.unpack('>II', data[body + 4:body + 12])
    sizes = (struct.unpack(f'>{count}I', data[body + 12:body + 12 + 4 * count]) if fixed == 0
             else (fixed, ) * count)
    body, _ = _find(data, _STBL + ['stco'])
    offset = struct.unpack('>I', data[body + 8:body + 12])[0]
    starts = np.cumsum((0, ) + tuple(sizes))[:-1] + offset
    return [(int(s), int(n)) for s, n in zip(starts, sizes)]


def zero_frame(src: Path, dst: Path, index: int) -> None:
    """Copy ``src`` with the bytes of frame ``index`` zeroed (that frame cannot be decoded)."""
    data = bytearray(src.read_bytes())
    start, size = sample_ranges(bytes(data))[index]
    data[start:start + size] = bytes(size)
    dst.write_bytes(bytes(data))


def truncate_after(src: Path, dst: Path, frames: int) -> None:
    """Copy ``src`` with its index moved to the front and the data cut after ``frames`` frames.

    The header still announces every frame, but the rest is missing.
    """
    data = src.read_bytes()
    top = {kind: (start, stop) for kind, start, _, stop in _boxes(data, 0, len(data))}
    ftyp = data[top['ftyp'][0]:top['ftyp'][1]]
    moov = bytearray(data[top['moov'][0]:top['moov'][1]])
    mdat = data[top['mdat'][0]:top['mdat'][1]]
    body, _ = _find(bytes(moov), _STBL + ['stco'])
    count = struct.unpack('>I', moov[body + 4:body + 8])[0]
    offsets = struct.unpack(f'>{count}I', moov[body + 8:body + 8 + 4 * count])
    shift = len(ftyp) + len(moov) - top['mdat'][0]
    moov[body + 8:body + 8 + 4 * count] = struct.pack(f'>{count}I',
                                                      *(o + shift for o in offsets))
    start, size = sample_ranges(data)[frames - 1]
    keep = start + size - top['mdat'][0]
    dst.write_bytes(ftyp + bytes(moov) + mdat[:keep])
