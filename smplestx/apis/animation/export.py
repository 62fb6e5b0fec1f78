"""Entry points: export demo track files as GLB, BVH, AMASS-layout files and one scene GLB."""

import os.path as osp
from typing import Dict, Optional, Sequence

from .amass import write_amass
from .bvh import write_bvh
from .clip import MotionClip, clip_from_track
from .glb import save_glb, write_glb
from .rig import load_shape_space
from .scene import SCENE_FILE, SceneBuilder
from .trajectory import VideoCamera

#: Per-person format name -> (file extension, writer).
WRITERS = {'glb': ('.glb', write_glb), 'bvh': ('.bvh', write_bvh), 'amass': ('.npz', write_amass)}
#: The per-person formats (one file per track or person), in the order they are written.
TRACK_FORMATS = tuple(WRITERS)
#: The format of one GLB with every person of an input (:mod:`.scene`).
SCENE_FORMAT = 'scene'
#: Every format, in the order they are written.
ANIMATION_FORMATS = TRACK_FORMATS + (SCENE_FORMAT, )


def default_animation_dir(track_path: str) -> str:
    """``<video>/animation`` for ``<video>/tracks/track_<id>.npz`` (or ``smplx/*.npz``)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(track_path))), 'animation')


def check_formats(formats: Sequence[str], allowed: Sequence[str] = ANIMATION_FORMATS) -> tuple:
    """The formats, validated and without repeats.

    Raises:
        ValueError: If a format is unknown (or not in ``allowed``).
    """
    unknown = [f for f in formats if f not in allowed]
    if unknown:
        hint = (f'; {SCENE_FORMAT!r} is written from all people of an input together '
                '(AnimationWriter)' if SCENE_FORMAT in unknown else '')
        raise ValueError(f'unknown animation format(s) {unknown}; choose from '
                         f'{list(allowed)}{hint}')
    return tuple(dict.fromkeys(formats))


def write_clip(clip: MotionClip, formats: Sequence[str], out_dir: str) -> Dict[str, str]:
    """Write a clip in each per-person format as ``<out_dir>/<clip.name>.<ext>``.

    Returns:
        Format -> written path.
    """
    written = {}
    for name in check_formats(formats, TRACK_FORMATS):
        ext, writer = WRITERS[name]
        written[name] = writer(clip, osp.join(out_dir, clip.name + ext))
    return written


class AnimationWriter:
    """Writes the people of one input one by one, and their scene at the end.

    Each :meth:`add` writes one person's per-person files (``<name>.glb``, ...) and, when
    ``'scene'`` is asked, adds the person to the scene; :meth:`finish` then writes
    ``<out_dir>/scene.glb``. Only the scene document (about the size of the file) and one
    clip are held in memory.

    Args:
        formats: Any of :data:`ANIMATION_FORMATS`.
        out_dir: Output folder.
        scene_name: Name of the glTF scene and animation of ``scene.glb`` (e.g. the video's).
    """

    def __init__(self, formats: Sequence[str], out_dir: str, scene_name: str) -> None:
        formats = check_formats(formats)
        self.track_formats = tuple(f for f in formats if f != SCENE_FORMAT)
        self.out_dir = out_dir
        self.scene = SceneBuilder(scene_name) if SCENE_FORMAT in formats else None

    def add(self, clip: MotionClip) -> Dict[str, str]:
        """Write one person's files and add it to the scene; returns format -> path."""
        written = write_clip(clip, self.track_formats, self.out_dir)
        if self.scene is not None:
            self.scene.add(clip)
        return written

    def finish(self) -> Optional[str]:
        """Write ``scene.glb`` (atomically); returns its path, or ``None`` without a scene."""
        if self.scene is None or not self.scene.people:
            return None
        return save_glb(self.scene.build(), osp.join(self.out_dir, SCENE_FILE))


def export_track_animation(track_path: str, formats: Sequence[str] = TRACK_FORMATS,
                           out_dir: Optional[str] = None, body_model_dir: Optional[str] = None,
                           shape_space=None, camera: Optional[VideoCamera] = None,
                           fov: Optional[float] = None, focal: Optional[float] = None,
                           image_size: Optional[Sequence[int]] = None) -> Dict[str, str]:
    """Export one person's track (``tracks/track_<id>.npz``) as animation files.

    A demo per-person file (``smplx/<frame>_<person>.npz``) works too and gives one frame.

    Args:
        track_path: The track file.
        formats: Any of ``'glb'``, ``'bvh'``, ``'amass'``.
        out_dir: Output folder (default: ``animation/`` beside the ``tracks/`` folder).
        body_model_dir: SMPL-X folder (default ``$SMPLESTX_BODY_MODELS``); ignored when
            ``shape_space`` is given.
        shape_space: A loaded body model (:func:`.rig.load_shape_space`), to share between
            tracks.
        camera: The video camera; by default from the video's size and ``fov``/``focal``.
        fov: Horizontal field of view of the video camera, degrees.
        focal: Focal length of the video camera, pixels.
        image_size: (W, H) of the video when the track does not record it.

    Returns:
        Format -> written path; files are named after the track (``track_0003.glb``, ...).
    """
    formats = check_formats(formats, TRACK_FORMATS)
    if shape_space is None:
        shape_space = load_shape_space(body_model_dir)
    clip = clip_from_track(track_path, shape_space, camera=camera, fov=fov, focal=focal,
                           image_size=image_size)
    return write_clip(clip, formats, out_dir or default_animation_dir(track_path))
