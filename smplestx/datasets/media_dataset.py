"""The inputs of inference: image files, image folders and videos, read as clips of frames.

An input list is described once (:func:`describe_inputs`): every input gets its kind, its
frame count and a unique output name (:func:`output_names`). Each input is split into
*units*, the pieces that one process handles whole and writes on its own: a video or an
image is one unit, a folder is cut into parts of ``part_size`` images, so that the images
of a large folder spread over processes while a video never does. A unit is read as
*clips* of consecutive frames, the items of :class:`MediaDataset`; video frames are decoded
front to back inside the dataloader worker (see
:class:`~smplestx.datasets.utils.media_io.SequentialVideoReader`).

Unreadable images and undecodable video frames are skipped and reported in the clip's
``failures`` (``strict=True`` raises instead).
"""

import dataclasses
import hashlib
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

from torch.utils.data import Dataset

from smplestx.registry import DATASETS

from .utils.image_io import ImageReadError, imread_rgb
from .utils.media_io import (
    IMAGE_EXTS,
    Frame,
    MediaReadError,
    SequentialVideoReader,
    folder_images,
    frame_names,
    input_kind,
    probe_video,
)

#: Video frames per clip (decoded in one go by a worker).
DEFAULT_CLIP_LEN = 8
#: Images per unit of a folder.
DEFAULT_PART_SIZE = 64


@dataclasses.dataclass
class MediaInput:
    """One input of the list.

    Attributes:
        index: Position in the input list.
        path: The path as given.
        kind: ``'image'``, ``'folder'`` or ``'video'``.
        name: Output folder name, unique in the list (see :func:`output_names`).
        num_frames: 1 for an image, the images of a folder, the frames a video's header
            announces (0 when it does not say).
        fps: Frame rate of a video.
        images: The image files of a folder (or the image itself), in frame order.
        frame_names: Output stems of ``images``.
        fingerprint: Changes when the input's files change (sizes and times).
    """

    index: int
    path: str
    kind: str
    name: str
    num_frames: int
    fps: Optional[float] = None
    images: List[str] = dataclasses.field(default_factory=list)
    frame_names: List[str] = dataclasses.field(default_factory=list)
    fingerprint: str = ''

    @property
    def abspath(self) -> str:
        """The absolute path."""
        return osp.abspath(self.path)

    def meta(self) -> Dict[str, Any]:
        """The small, picklable description that travels with every clip."""
        return dict(index=self.index, path=self.path, kind=self.kind, name=self.name,
                    num_frames=self.num_frames, fps=self.fps, fingerprint=self.fingerprint)


@dataclasses.dataclass(frozen=True)
class MediaUnit:
    """A piece of an input that one process reads and writes whole.

    Attributes:
        input: Index of the input.
        part: Part number within the input (folders; 0 otherwise).
        num_parts: Parts of the input.
        first: First frame index.
        stop: One past the last frame index; ``None`` reads a video to its end.
        weight: Frames expected (for balancing).
    """

    input: int
    part: int
    num_parts: int
    first: int
    stop: Optional[int]
    weight: int


def _base_name(path: str, kind: str) -> str:
    path = osp.abspath(path)
    return osp.basename(path) if kind == 'folder' else osp.splitext(osp.basename(path))[0]


def output_names(paths: Sequence[str], kinds: Sequence[str]) -> List[str]:
    """Unique output folder names for inputs (files: their stem; folders: their name).

    Inputs whose names collide are told apart by their paths: each gets its path relative
    to the deepest folder that holds all of them, ``/`` replaced by ``_``, without the
    extension when that is enough (``cam1/frame.jpg``, ``cam2/frame.jpg`` become
    ``cam1_frame``, ``cam2_frame``), else with ``.`` of the extension replaced by ``_``
    (``astronaut.jpg``, ``astronaut.mp4`` become ``astronaut_jpg``, ``astronaut_mp4``).
    A name that still clashes with another input's gets ``_2``, ``_3``, ... in list order.
    The names depend on the whole list only through such collisions.

    Args:
        paths: Distinct inputs.
        kinds: Their kinds (:func:`~smplestx.datasets.utils.media_io.input_kind`).

    Returns:
        One name per input.
    """
    bases = [_base_name(p, k) for p, k in zip(paths, kinds)]
    names = list(bases)
    groups: Dict[str, List[int]] = {}
    for i, base in enumerate(bases):
        groups.setdefault(base, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        parents = [osp.dirname(osp.abspath(paths[i])) for i in members]
        common = osp.commonpath(parents)
        rels = [osp.relpath(osp.abspath(paths[i]), common) for i in members]
        plain = [osp.splitext(r)[0] if kinds[i] != 'folder' else r
                 for r, i in zip(rels, members)]
        chosen = plain if len(set(plain)) == len(plain) else rels
        for i, rel in zip(members, chosen):
            names[i] = rel.replace(os.sep, '_').replace('/', '_').replace('.', '_')
    seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            count = seen[name] + 1
            while f'{name}_{count}' in names or f'{name}_{count}' in seen:
                count += 1
            seen[name] = count
            names[i] = f'{name}_{count}'
        seen.setdefault(names[i], 1)
    return names


def _fingerprint(stats: Sequence[str]) -> str:
    return hashlib.sha1('\n'.join(stats).encode()).hexdigest()[:16]


def _stat(path: str) -> str:
    st = os.stat(path)
    return f'{osp.basename(path)}:{st.st_size}:{st.st_mtime_ns}'


def describe_inputs(paths: Sequence[Union[str, os.PathLike]]) -> List[MediaInput]:
    """Check and describe an input list (cheap: headers and folder listings only).

    The same path given twice is kept once.

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If an input has an unknown file type or a folder has no images.
        MediaReadError: If a video cannot be opened.
    """
    unique: List[str] = []
    seen = set()
    for path in map(os.fspath, paths):
        key = osp.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    kinds = [input_kind(p) for p in unique]
    names = output_names(unique, kinds)
    inputs = []
    for index, (path, kind, name) in enumerate(zip(unique, kinds, names)):
        item = MediaInput(index, path, kind, name, 1)
        if kind == 'video':
            info = probe_video(path)
            item.num_frames, item.fps = info.num_frames, info.fps
            item.fingerprint = _fingerprint([_stat(path)])
        else:
            item.images = folder_images(path) if kind == 'folder' else [path]
            if not item.images:
                raise ValueError(f'input folder {path} holds no images (known types: '
                                 f'{", ".join(IMAGE_EXTS)})')
            item.frame_names = frame_names(item.images)
            item.num_frames = len(item.images)
            item.fingerprint = _fingerprint([_stat(p) for p in item.images])
        inputs.append(item)
    return inputs


def split_units(inputs: Sequence[MediaInput], part_size: int = DEFAULT_PART_SIZE
                ) -> List[MediaUnit]:
    """The units of every input, in input order (see the module docstring)."""
    if part_size < 1:
        raise ValueError(f'part_size must be >= 1, got {part_size}')
    units = []
    for item in inputs:
        if item.kind == 'video':
            units.append(MediaUnit(item.index, 0, 1, 0, None, max(item.num_frames, 1)))
            continue
        parts = math.ceil(item.num_frames / part_size)
        for part in range(parts):
            first, stop = part * part_size, min((part + 1) * part_size, item.num_frames)
            units.append(MediaUnit(item.index, part, parts, first, stop, stop - first))
    return units


@DATASETS.register_module()
class MediaDataset(Dataset):
    """Clips of consecutive frames of images, image folders and videos.

    Item ``i`` is a dict with ``frames`` (a list of
    :class:`~smplestx.datasets.utils.media_io.Frame`, RGB), ``failures`` (unreadable images
    ``{'file', 'frame', 'error'}`` and undecodable or missing video frames ``{'frames':
    [first, last], 'error'}``), ``input`` (:meth:`MediaInput.meta`), ``unit`` (its index
    here), ``part``/``num_parts``, ``first``/``stop`` (the unit's frame range),
    ``begin``/``end`` (first/last clip of the unit) and
    ``video_end`` (where a video ended, when that is in this clip).

    Args:
        inputs: Paths, or :class:`MediaInput` from :func:`describe_inputs`.
        units: The units to read (e.g. those not done yet); all by default.
        clip_len: Video frames per clip (images come one per clip).
        part_size: Images per unit of a folder (when ``units`` is not given).
        strict: Raise :class:`~smplestx.datasets.utils.media_io.MediaReadError` at the first
            unreadable image or video frame instead of skipping it.
    """

    def __init__(self, inputs: Sequence[Union[str, MediaInput]],
                 units: Optional[Sequence[MediaUnit]] = None,
                 clip_len: int = DEFAULT_CLIP_LEN, part_size: int = DEFAULT_PART_SIZE,
                 strict: bool = False) -> None:
        if clip_len < 1:
            raise ValueError(f'clip_len must be >= 1, got {clip_len}')
        if inputs and not isinstance(inputs[0], MediaInput):
            inputs = describe_inputs(inputs)
        self.inputs: List[MediaInput] = list(inputs)
        self.units: List[MediaUnit] = list(units if units is not None else
                                           split_units(self.inputs, part_size))
        self.strict = strict
        self.clips: List[tuple] = []  # (unit index, first, stop)
        self.unit_clips: List[List[int]] = []
        by_index = {item.index: item for item in self.inputs}
        for u, unit in enumerate(self.units):
            kind = by_index[unit.input].kind
            step = clip_len if kind == 'video' else 1
            end = unit.stop if unit.stop is not None else by_index[unit.input].num_frames
            starts = list(range(unit.first, max(end, unit.first + 1), step))
            ids = []
            for k, start in enumerate(starts):
                last = k == len(starts) - 1
                stop = unit.stop if last else start + step
                ids.append(len(self.clips))
                self.clips.append((u, start, stop))
            self.unit_clips.append(ids)
        self._by_index = by_index
        self._reader: Optional[SequentialVideoReader] = None

    def __len__(self) -> int:
        return len(self.clips)

    def unit_weights(self) -> List[int]:
        """Frames expected per unit (for balancing)."""
        return [unit.weight for unit in self.units]

    def __getitem__(self, idx: int) -> Dict[str, Any]:
        u, start, stop = self.clips[idx]
        unit = self.units[u]
        item = self._by_index[unit.input]
        ids = self.unit_clips[u]
        out = dict(input=item.meta(), unit=u, part=unit.part, num_parts=unit.num_parts,
                   first=unit.first, stop=unit.stop, begin=idx == ids[0], end=idx == ids[-1],
                   frames=[], failures=[], video_end=None)
        if item.kind == 'video':
            self._read_video(item, start, stop, out)
        else:
            self._read_images(item, start, stop, out)
        return out

    def _read_video(self, item: MediaInput, start: int, stop: Optional[int],
                    out: dict) -> None:
        if self._reader is None or self._reader.path != item.path:
            if self._reader is not None:
                self._reader.close()
            self._reader = SequentialVideoReader(item.path, item.num_frames)
        clip = self._reader.read(start, stop)
        if self.strict and clip.failures:
            first = clip.failures[0]
            raise MediaReadError(f'video {item.path}: frames {first["frames"][0]}-'
                                 f'{first["frames"][1]}: {first["error"]}')
        out.update(frames=clip.frames, failures=clip.failures, video_end=clip.end)

    def _read_images(self, item: MediaInput, start: int, stop: int, out: dict) -> None:
        for index in range(start, stop):
            path = item.images[index]
            try:
                image = imread_rgb(path)
            except ImageReadError as err:
                if self.strict:
                    raise
                out['failures'].append({'file': path, 'frame': index, 'error': str(err)})
                continue
            out['frames'].append(Frame(index, item.frame_names[index], image, path))


def first_item(batch: Sequence[Any]) -> Any:
    """Collate function of a one-item batch: the item itself."""
    return batch[0]
