"""Write a :class:`~.clip.MotionClip` as an AMASS-layout SMPL-X ``.npz``.

Keys (float64 unless said): ``poses`` (T, 165) the full SMPL-X pose in axis-angle, joint
order of ``smplx`` (root, 21 body, jaw, left eye, right eye, 15 left-hand, 15 right-hand);
``trans`` (T, 3); ``betas`` (10,); ``num_betas``; ``expression`` (T, 10);
``num_expressions``; ``gender`` (``'neutral'``); ``surface_model_type`` (``'smplx'``);
``mocap_frame_rate`` (the video's fps); ``mocap_time_length`` (seconds); and the split views
``root_orient``, ``pose_body``, ``pose_hand``, ``pose_jaw``, ``pose_eye`` that AMASS's
SMPL-X files also carry.

Conventions, as in AMASS:

* ``poses`` holds **absolute** finger rotations: the SMPL-X hand mean is already added, so
  load with ``flat_hand_mean=True`` (what AMASS's loaders and the SMPL-X Blender add-on's
  "flat" hand pose do); with ``smplx.create(..., flat_hand_mean=False)`` the mean would be
  added twice.
* World: **Z-up**, metres: x right, y forward (away from the video camera), z up; the video
  camera sits at the origin looking along +y. ``trans`` is ``smplx``'s ``transl`` in that
  world, so ``smplx.create(..., flat_hand_mean=True)(global_orient=root_orient, ...,
  betas=betas, expression=expression, transl=trans)`` poses the person there.
"""

import numpy as np
from scipy.spatial.transform import Rotation

from smplestx.utils.io import atomic_write_npz

from .clip import MotionClip
from .trajectory import CV_TO_YUP, YUP_TO_ZUP

#: Camera (OpenCV) axes -> AMASS Z-up world.
CV_TO_ZUP = YUP_TO_ZUP @ CV_TO_YUP


def amass_arrays(clip: MotionClip) -> dict:
    """The arrays of a clip's AMASS-layout file."""
    root_rotation, root_position = clip.world_root(CV_TO_ZUP)
    rest_pelvis = clip.rest_joints()[:, 0]
    full = clip.full_pose()
    full[:, :3] = Rotation.from_matrix(root_rotation).as_rotvec()
    rig = clip.rig
    return {
        'poses': full,
        'trans': root_position - rest_pelvis,
        'betas': rig.betas,
        'num_betas': np.asarray(len(rig.betas)),
        'expression': clip.expression,
        'num_expressions': np.asarray(clip.expression.shape[1]),
        'gender': np.asarray(rig.gender),
        'surface_model_type': np.asarray('smplx'),
        'mocap_frame_rate': np.asarray(clip.fps),
        'mocap_time_length': np.asarray(clip.num_frames / clip.fps),
        'root_orient': full[:, :3],
        'pose_body': full[:, 3:66],
        'pose_jaw': full[:, 66:69],
        'pose_eye': full[:, 69:75],
        'pose_hand': full[:, 75:165],
    }


def write_amass(clip: MotionClip, path: str) -> str:
    """Write the clip as an AMASS-layout ``.npz`` (atomically) and return ``path``."""
    atomic_write_npz(path, amass_arrays(clip))
    return path
