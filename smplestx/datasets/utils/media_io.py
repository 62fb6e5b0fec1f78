"""Frames of the demo's inputs: image files, folders of images, videos and arrays.

Videos are decoded front to back with OpenCV. A frame is numbered by its position in the
video: an undecodable frame (``grab`` fails, then later ones succeed) keeps its number, is
skipped and reported, and the frames after it keep theirs. A run of
:data:`MAX_CONSECUTIVE_FAILURES` failed reads ends the video; if the header announced more
frames, the missing ones are reported as one range (a truncated file).
"""

import dataclasses
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log

from smplestx.datasets.utils.image_io import ImageReadError, imread_rgb

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.flv', '.wmv', '.webm', '.mpeg', '.mpg', '.m4v')
#: Failed reads in a row that end a video (its remaining frames count as missing).
MAX_CONSECUTIVE_FAILURES = 25

InputType = Union[str, os.PathLike, np.ndarray]


class MediaReadError(ValueError):
    """An input cannot be opened or decoded; the message names it."""


@dataclasses.dataclass
class Frame:
    """One image of an input.

    Attributes:
        index: 0-based position within the input.
        name: File stem used for this frame's outputs (unique within the input).
        image: (H, W, 3) RGB uint8 pixels.
        source: The image file, or ``None`` for video frames and arrays.
    """

    index: int
    name: str
    image: np.ndarray
    source: Optional[str] = None

    @property
    def image_bgr(self) -> np.ndarray:
        """The pixels in BGR order (what OpenCV and mmdet expect)."""
        return np.ascontiguousarray(self.image[..., ::-1])

    @property
    def image_size(self) -> tuple:
        """(H, W)."""
        return tuple(self.image.shape[:2])


def input_kind(path: Union[str, os.PathLike]) -> str:
    """``'image'``, ``'video'`` or ``'folder'`` for a path.

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If the file extension is not a known image or video type.
    """
    path = os.fspath(path)
    if osp.isdir(path):
        return 'folder'
    if not osp.exists(path):
        raise FileNotFoundError(f'input {path} does not exist')
    ext = osp.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        return 'image'
    if ext in VIDEO_EXTS:
        return 'video'
    raise ValueError(f'input {path}: unknown file type {ext!r} (images: {", ".join(IMAGE_EXTS)};'
                     f' videos: {", ".join(VIDEO_EXTS)})')


def folder_images(folder: str) -> List[str]:
    """Image files of a folder, sorted by name (not recursive)."""
    names = sorted(n for n in os.listdir(folder) if osp.splitext(n)[1].lower() in IMAGE_EXTS)
    return [osp.join(folder, n) for n in names]


def frame_names(paths: Sequence[str]) -> List[str]:
    """Output stems of a folder's images: the file stem, numbered where stems repeat."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    counts: Dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    return [stem if counts[stem] == 1 else f'{stem}_{i:06d}' for i, stem in enumerate(stems)]


def video_frame_name(index: int) -> str:
    """Output stem of video frame ``index``: its zero-padded number."""
    return f'{index:06d}'


@dataclasses.dataclass
class VideoInfo:
    """What a video's header says.

    Attributes:
        fps: Frame rate (30 when the header has none).
        num_frames: Announced number of frames (0 when unknown).
    """

    fps: float
    num_frames: int


def probe_video(path: str) -> VideoInfo:
    """Open a video and read its header.

    Raises:
        MediaReadError: If OpenCV cannot open it.
    """
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise MediaReadError(f'cannot open video {path} with OpenCV (unsupported codec or '
                                 f'corrupt file)')
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        return VideoInfo(fps, max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0))
    finally:
        capture.release()


@dataclasses.dataclass
class ClipRead:
    """The decoded frames of ``[start, stop)`` of a video and what went wrong there.

    Attributes:
        frames: Decoded frames (RGB), in order.
        failures: ``{'frames': [first, last], 'error': ...}`` per run of undecodable or
            missing frames in the range.
        end: The index where the video ended, when that lies in the range.
    """

    frames: List[Frame]
    failures: List[dict]
    end: Optional[int] = None


class SequentialVideoReader:
    """Reads ranges of frames of one video, decoding front to back.

    Consecutive ranges continue where the previous one stopped; a range that starts
    earlier reopens the video and skips forward (``grab`` without conversion), so every
    range sees the same frame numbers, however the ranges are split among readers.

    Args:
        path: The video file.
        num_frames: Frames announced by the header (0: unknown).
    """

    def __init__(self, path: str, num_frames: int = 0) -> None:
        self.path = path
        self.num_frames = num_frames
        self._capture: Optional[cv2.VideoCapture] = None
        self._next = 0  # index of the next grab
        self._pending: List[int] = []  # failed reads since the last decoded frame
        self._peeked: Optional[Tuple[int, np.ndarray, List[int]]] = None
        self._end: Optional[int] = None

    def close(self) -> None:
        """Release the video."""
        if self._capture is not None:
            self._capture.release()
        self._capture, self._peeked, self._pending, self._next = None, None, [], 0

    def _open(self) -> None:
        self.close()
        self._capture = cv2.VideoCapture(self.path)
        if not self._capture.isOpened():
            raise MediaReadError(f'cannot open video {self.path} with OpenCV (unsupported '
                                 f'codec or corrupt file)')

    def _decode_next(self, convert: bool) -> Optional[Tuple[int, Optional[np.ndarray], list]]:
        """The next decodable frame ``(index, bgr, failed indices before it)``; None at the end."""
        while True:
            index = self._next
            self._next += 1
            ok = self._capture.grab()
            bgr = None
            if ok and convert:
                ok, bgr = self._capture.retrieve()
            if ok:
                failed, self._pending = self._pending, []
                return index, bgr, failed
            self._pending.append(index)
            if len(self._pending) >= MAX_CONSECUTIVE_FAILURES:
                self._end = self._pending[0]
                self._pending = []
                return None

    def read(self, start: int, stop: Optional[int] = None) -> ClipRead:
        """Decode the frames with ``start <= index < stop`` (to the end when ``stop`` is None)."""
        position = self._peeked[0] if self._peeked is not None else self._next
        if self._capture is None or position > start:
            self._open()
        out = ClipRead([], [])
        failed: List[int] = []
        while stop is None or (self._peeked[0] if self._peeked else self._next) < stop:
            if self._peeked is None and self._end is not None and self._next >= self._end:
                break
            item = self._peeked or self._decode_next(convert=self._next >= start)
            self._peeked = None
            if item is None:
                break
            index, bgr, before = item
            failed += [i for i in before if start <= i and (stop is None or i < stop)]
            if stop is not None and index >= stop:
                self._peeked = (index, bgr, [i for i in before if i >= stop])
                break
            if index >= start:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                out.frames.append(Frame(index, video_frame_name(index), rgb))
        out.failures = _failure_runs(failed, 'could not be decoded')
        if self._end is not None and start <= self._end and (stop is None or self._end < stop):
            out.end = self._end
            if self._end < self.num_frames:
                out.failures.append({'frames': [self._end, self.num_frames - 1],
                                     'error': f'missing: the video ends at frame {self._end} '
                                              f'but its header announces {self.num_frames}'})
        return out

    def __iter__(self) -> Iterator[Frame]:
        """Every decodable frame; undecodable ones are logged and skipped."""
        clip = self.read(0)
        for failure in clip.failures:
            print_log(f'video {self.path}: frames {failure["frames"]}: {failure["error"]}',
                      logger='current', level=30)
        yield from clip.frames


def _failure_runs(indices: List[int], error: str) -> List[dict]:
    runs: List[dict] = []
    for index in indices:
        if runs and runs[-1]['frames'][1] == index - 1:
            runs[-1]['frames'][1] = index
        else:
            runs.append({'frames': [index, index], 'error': error})
    return runs


class VideoReader:
    """Frames of a video file via OpenCV, converted to RGB (see the module docstring).

    Args:
        path: The video file.

    Raises:
        MediaReadError: If OpenCV cannot open the file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        info = probe_video(path)
        self.fps, self.num_frames = info.fps, info.num_frames

    def __iter__(self) -> Iterator[Frame]:
        reader = SequentialVideoReader(self.path, self.num_frames)
        try:
            yield from reader
        finally:
            reader.close()


def iter_frames(inputs: Union[InputType, Sequence[InputType]]) -> Iterator[Frame]:
    """Frames of one input or a list of inputs, in order.

    Args:
        inputs: An image file, a folder, a video file, an (H, W, 3) **BGR** uint8 array
            (the OpenCV/MMEngine convention), or a list of these.

    Yields:
        The frames, numbered from 0 across the whole sequence.

    Raises:
        ImageReadError: If an image file cannot be decoded.
    """
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    index = 0
    for item in items:
        if isinstance(item, np.ndarray):
            if item.ndim != 3 or item.shape[2] != 3:
                raise ValueError(f'array inputs must be (H, W, 3) BGR images, got {item.shape}')
            rgb = np.ascontiguousarray(item[..., ::-1], dtype=np.uint8)
            yield Frame(index, video_frame_name(index), rgb)
            index += 1
            continue
        path = os.fspath(item)
        kind = input_kind(path)
        if kind == 'video':
            for frame in VideoReader(path):
                frame.index, frame.name = index, video_frame_name(index)
                yield frame
                index += 1
            continue
        paths = folder_images(path) if kind == 'folder' else [path]
        for name, image_path in zip(frame_names(paths), paths):
            yield Frame(index, name, imread_rgb(image_path), image_path)
            index += 1


def count_frames(path: Union[str, os.PathLike]) -> Optional[int]:
    """Number of frames of an input path (``None`` when a video does not say)."""
    kind = input_kind(path)
    if kind == 'image':
        return 1
    if kind == 'folder':
        return len(folder_images(os.fspath(path)))
    return probe_video(os.fspath(path)).num_frames or None


__all__ = [
    'IMAGE_EXTS', 'VIDEO_EXTS', 'ClipRead', 'Frame', 'ImageReadError', 'InputType',
    'MediaReadError', 'SequentialVideoReader', 'VideoInfo', 'VideoReader', 'count_frames',
    'folder_images', 'frame_names', 'input_kind', 'iter_frames', 'probe_video',
    'video_frame_name'
]
