"""Geometry helpers of the SMPLest-X model: rotations and the virtual camera."""

from .camera import camera_depth_scale, crop_camera_to_image, get_camera_trans, project_to_heatmap
from .rotation import (
                       batch_rodrigues,
                       quaternion_to_axis_angle,
                       quaternion_to_rotmat,
                       rot6d_to_axis_angle,
                       rot6d_to_rotmat,
                       rotmat_to_axis_angle,
                       rotmat_to_quaternion,
)

__all__ = [
    'rot6d_to_rotmat', 'rot6d_to_axis_angle', 'rotmat_to_quaternion', 'quaternion_to_axis_angle',
    'rotmat_to_axis_angle', 'quaternion_to_rotmat', 'batch_rodrigues', 'camera_depth_scale',
    'get_camera_trans', 'project_to_heatmap', 'crop_camera_to_image'
]
