"""Animation export of tracked people: skinned glTF (GLB), BVH and AMASS-layout files.

``export_track_animation(track_npz, formats, out_dir)`` turns a demo track file into
``track_<id>.glb`` / ``.bvh`` / ``.npz``; :class:`AnimationWriter` writes the people of one
input one by one and, with format ``'scene'``, one ``scene.glb`` holding all of them. See
``docs/animation.md`` for the conventions.
"""

from .clip import MotionClip, TrackFileError, clip_from_track
from .corrective import pose_corrective_residual
from .export import (
    ANIMATION_FORMATS,
    TRACK_FORMATS,
    AnimationWriter,
    export_track_animation,
    write_clip,
)
from .rig import SMPLX_JOINT_NAMES, BodyRig, build_rig, load_shape_space
from .scene import SCENE_FILE, SceneBuilder
from .trajectory import VideoCamera

__all__ = [
    'ANIMATION_FORMATS', 'AnimationWriter', 'BodyRig', 'MotionClip', 'SCENE_FILE',
    'SMPLX_JOINT_NAMES', 'SceneBuilder', 'TRACK_FORMATS', 'TrackFileError', 'VideoCamera',
    'build_rig', 'clip_from_track', 'export_track_animation', 'load_shape_space',
    'pose_corrective_residual', 'write_clip'
]
