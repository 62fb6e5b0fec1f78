"""How far the pose-corrective blend shapes move a clip's vertices (what glTF cannot carry).

SMPL-X adds pose-dependent vertex offsets (``posedirs``) before skinning; a glTF skin has no
such thing, so the exported mesh is ``smplx``'s with those offsets switched off. This module
measures the difference on a clip with the body model itself.
"""

from typing import Dict

import numpy as np
import torch

from .clip import MotionClip
from .rig import POSE_BLOCKS

#: ``smplx`` keyword, first joint and joint count of each pose block.
_BLOCKS = (('global_orient', 1), ('body_pose', 21), ('jaw_pose', 1), ('leye_pose', 1),
           ('reye_pose', 1), ('left_hand_pose', 15), ('right_hand_pose', 15))


def clip_smplx_params(clip: MotionClip) -> Dict[str, torch.Tensor]:
    """``smplx`` keyword arguments (``flat_hand_mean=False`` layer, camera frame) of a clip."""
    rotvecs = clip.full_pose().reshape(clip.num_frames, -1, 3)
    rotvecs[:, POSE_BLOCKS['left_hand_pose']:] -= clip.rig.hand_mean.reshape(30, 3)
    params = {key: rotvecs[:, POSE_BLOCKS[key]:POSE_BLOCKS[key] + count].reshape(
        clip.num_frames, -1) for key, count in _BLOCKS}
    params.update(betas=np.broadcast_to(clip.rig.betas, (clip.num_frames, len(clip.rig.betas))),
                  expression=clip.expression, transl=clip.transl)
    return {key: torch.as_tensor(np.ascontiguousarray(value), dtype=torch.float32)
            for key, value in params.items()}


def pose_corrective_residual(clip: MotionClip, layer) -> Dict[str, float]:
    """Vertex distance (mm) between ``smplx`` with and without pose correctives, over a clip.

    Args:
        clip: The clip.
        layer: The ``smplx`` SMPL-X layer (``flat_hand_mean=False``) of the clip's rig.

    Returns:
        ``mean_mm`` (over frames and vertices), ``max_mm`` and ``frames``.
    """
    params = clip_smplx_params(clip)
    posedirs = layer.posedirs
    with torch.no_grad():
        full = layer(**params).vertices
        layer.posedirs = torch.zeros_like(posedirs)
        try:
            plain = layer(**params).vertices
        finally:
            layer.posedirs = posedirs
    distance = (full - plain).norm(dim=-1).double().numpy() * 1000.0
    return {'mean_mm': float(distance.mean()), 'max_mm': float(distance.max()),
            'frames': clip.num_frames}
