"""One entry point: export a demo track file as GLB, BVH and/or AMASS-layout animation."""

import os.path as osp
from typing import Dict, Optional, Sequence

from .amass import write_amass
from .bvh import write_bvh
from .clip import MotionClip, clip_from_track
from .glb import write_glb
from .rig import load_shape_space
from .trajectory import VideoCamera

#: Format name -> (file extension, writer).
WRITERS = {'glb': ('.glb', write_glb), 'bvh': ('.bvh', write_bvh), 'amass': ('.npz', write_amass)}
#: Every format, in the order they are written.
ANIMATION_FORMATS = tuple(WRITERS)


def default_animation_dir(track_path: str) -> str:
    """``<video>/animation`` for ``<video>/tracks/track_<id>.npz`` (or ``smplx/*.npz``)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(track_path))), 'animation')


def check_formats(formats: Sequence[str]) -> tuple:
    """The formats, validated and without repeats.

    Raises:
        ValueError: If a format is unknown.
    """
    unknown = [f for f in formats if f not in WRITERS]
    if unknown:
        raise ValueError(f'unknown animation format(s) {unknown}; choose from '
                         f'{list(ANIMATION_FORMATS)}')
    return tuple(dict.fromkeys(formats))


def write_clip(clip: MotionClip, formats: Sequence[str], out_dir: str) -> Dict[str, str]:
    """Write a clip in each format as ``<out_dir>/<clip.name>.<ext>``; returns format -> path."""
    written = {}
    for name in check_formats(formats):
        ext, writer = WRITERS[name]
        written[name] = writer(clip, osp.join(out_dir, clip.name + ext))
    return written


def export_track_animation(track_path: str, formats: Sequence[str] = ANIMATION_FORMATS,
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
    formats = check_formats(formats)
    if shape_space is None:
        shape_space = load_shape_space(body_model_dir)
    clip = clip_from_track(track_path, shape_space, camera=camera, fov=fov, focal=focal,
                           image_size=image_size)
    return write_clip(clip, formats, out_dir or default_animation_dir(track_path))
