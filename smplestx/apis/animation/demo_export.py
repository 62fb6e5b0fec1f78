"""The demo's end-of-input step that writes ``<name>/animation/`` (``--export-animation``)."""

import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .clip import clip_from_track
from .export import SCENE_FORMAT, AnimationWriter, check_formats
from .rig import load_shape_space

#: Folder of the animation files inside an input's output folder.
ANIMATION_DIR = 'animation'


class DemoAnimationExport:
    """Write the animation files of one finished demo input, before its ``index.json``.

    A tracked video gets one file per track and format (``track_<id>.glb`` ...); an image or
    an untracked input gets one single-frame file per person. Format ``'scene'`` adds one
    ``scene.glb`` with all of them: every track of a video, every person of an image (an
    image folder gets none: its images are not one moment).
    The written files are listed under ``animation`` in the input's ``index.json``, which
    the writer saves afterwards, so an input counts as done only with its animation files.

    Args:
        formats: Any of ``'glb'``, ``'bvh'``, ``'amass'``, ``'scene'``.
        body_model_dir: SMPL-X folder of the rig (``None``: ``$SMPLESTX_BODY_MODELS``).
        camera: ``fov`` (degrees) or ``focal`` (pixels) of the video camera.
    """

    def __init__(self, formats: Sequence[str], body_model_dir: Optional[str] = None,
                 camera: Optional[Mapping[str, float]] = None) -> None:
        self.formats = check_formats(formats)
        self.body_model_dir = body_model_dir
        self.camera = dict(camera or {})
        self._shape_space = None

    def __call__(self, out_dir: str, meta: Dict[str, Any], index: Dict[str, Any]) -> None:
        """Export the input written to ``out_dir`` (an end-of-input hook of the writer)."""
        if self._shape_space is None:  # loaded once per process, at the first input
            self._shape_space = load_shape_space(self.body_model_dir)
        tracks = index.get('tracks') or []
        frames = index.get('frames', [])
        formats = self.formats
        if tracks:
            sources = [(track['file'], None) for track in tracks]
        else:
            sources = [(person['params'], frame['image_size'][::-1]) for frame in frames
                       for person in frame['people'] if person.get('params')]
            if len(frames) > 1:  # an image folder: its images are not one scene
                formats = tuple(f for f in formats if f != SCENE_FORMAT)
        writer = AnimationWriter(formats, osp.join(out_dir, ANIMATION_DIR),
                                 osp.basename(osp.normpath(out_dir)))
        written: List[str] = []
        for rel, image_size in sources:
            clip = clip_from_track(osp.join(out_dir, rel), self._shape_space,
                                   image_size=image_size, **self.camera)
            written.extend(writer.add(clip).values())
        scene = writer.finish()
        written.extend([scene] if scene else [])
        index['animation'] = [osp.relpath(path, out_dir).replace(osp.sep, '/')
                              for path in written]
