"""Pure helpers of the data pipeline (boxes, affine maps, flips, image decoding)."""

from .affine import affine_points, bbox_affine_transforms, get_affine_transform
from .bbox import (
                   fix_aspect_ratio,
                   process_bbox,
                   process_bboxes,
                   sanitize_bbox,
                   sanitize_bboxes,
                   virtual_camera,
)
from .flip import (
                   flip_axis_angle,
                   flip_image,
                   flip_keypoints_2d,
                   flip_keypoints_3d,
                   flip_smplx_params,
                   flip_smplx_pose,
                   swap_pairs,
)
from .image_io import ImageReadError, imread_rgb
from .warp import warp_affine_linear

__all__ = [
    'affine_points', 'bbox_affine_transforms', 'get_affine_transform', 'fix_aspect_ratio',
    'process_bbox', 'process_bboxes', 'sanitize_bbox', 'sanitize_bboxes', 'virtual_camera',
    'flip_axis_angle', 'flip_image', 'flip_keypoints_2d', 'flip_keypoints_3d',
    'flip_smplx_params', 'flip_smplx_pose', 'swap_pairs', 'ImageReadError', 'imread_rgb',
    'warp_affine_linear'
]
