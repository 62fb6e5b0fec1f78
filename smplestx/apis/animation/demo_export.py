"""The demo's end-of-input step that writes ``<name>/animation/`` (``--export-animation``)."""

import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .export import check_formats, export_track_animation
from .rig import load_shape_space

#: Folder of the animation files inside an input's output folder.
ANIMATION_DIR = 'animation'


class DemoAnimationExport:
    """Write the animation files of one finished demo input, before its ``index.json``.

    A tracked video gets one file per track and format (``track_<id>.glb`` ...); an image or
    an untracked input gets one single-frame file per person. The written files are listed
    under ``animation`` in the input's ``index.json``, which the writer saves afterwards, so
    an input counts as done only with its animation files.

    Args:
        formats: Any of ``'glb'``, ``'bvh'``, ``'amass'``.
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
        if tracks:
            sources = [(track['file'], None) for track in tracks]
        else:
            sources = [(person['params'], frame['image_size'][::-1])
                       for frame in index.get('frames', []) for person in frame['people']
                       if person.get('params')]
        written: List[str] = []
        for rel, image_size in sources:
            files = export_track_animation(osp.join(out_dir, rel), self.formats,
                                           osp.join(out_dir, ANIMATION_DIR),
                                           shape_space=self._shape_space,
                                           image_size=image_size, **self.camera)
            written.extend(osp.relpath(path, out_dir).replace(osp.sep, '/')
                           for path in files.values())
        index['animation'] = written
