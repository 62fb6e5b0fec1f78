"""Frames of the demo's inputs: an image file, a folder of images, a video, or arrays."""

import dataclasses
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

import cv2
import numpy as np

from smplestx.datasets.utils.image_io import imread_rgb

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.flv', '.wmv', '.webm', '.mpeg', '.mpg', '.m4v')

InputType = Union[str, os.PathLike, np.ndarray]


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


def _unique_names(paths: Sequence[str]) -> List[str]:
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    return [stem if stems.count(stem) == 1 else f'{stem}_{i:06d}' for i, stem in enumerate(stems)]


class VideoReader:
    """Frames of a video file via OpenCV, converted to RGB.

    Args:
        path: The video file.

    Raises:
        ValueError: If OpenCV cannot open the file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            raise ValueError(f'cannot open video {path} with OpenCV (unsupported codec or '
                             f'corrupt file)')
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        self.num_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        capture.release()

    def __iter__(self) -> Iterator[Frame]:
        capture = cv2.VideoCapture(self.path)
        try:
            index = 0
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                yield Frame(index, f'{index:06d}', np.ascontiguousarray(bgr[..., ::-1]))
                index += 1
        finally:
            capture.release()


def iter_frames(inputs: Union[InputType, Sequence[InputType]]) -> Iterator[Frame]:
    """Frames of one input or a list of inputs, in order.

    Args:
        inputs: An image file, a folder, a video file, an (H, W, 3) **BGR** uint8 array
            (the OpenCV/MMEngine convention), or a list of these.

    Yields:
        The frames, numbered from 0 across the whole sequence.
    """
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    index = 0
    for item in items:
        if isinstance(item, np.ndarray):
            if item.ndim != 3 or item.shape[2] != 3:
                raise ValueError(f'array inputs must be (H, W, 3) BGR images, got {item.shape}')
            rgb = np.ascontiguousarray(item[..., ::-1], dtype=np.uint8)
            yield Frame(index, f'{index:06d}', rgb)
            index += 1
            continue
        path = os.fspath(item)
        kind = input_kind(path)
        if kind == 'video':
            for frame in VideoReader(path):
                frame.index, frame.name = index, f'{index:06d}'
                yield frame
                index += 1
            continue
        paths = folder_images(path) if kind == 'folder' else [path]
        for name, image_path in zip(_unique_names(paths), paths):
            yield Frame(index, name, imread_rgb(image_path), image_path)
            index += 1


def count_frames(path: Union[str, os.PathLike]) -> Optional[int]:
    """Number of frames of an input path (``None`` when a video does not say)."""
    kind = input_kind(path)
    if kind == 'image':
        return 1
    if kind == 'folder':
        return len(folder_images(os.fspath(path)))
    return VideoReader(os.fspath(path)).num_frames or None
