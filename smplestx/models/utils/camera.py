"""The virtual camera of SMPLest-X (spec §2.6, official_io.md §8).

The network works in a pinhole camera attached to the 256x192 body crop: focal 5000 px and
principal point at the crop centre (96, 128). The weak camera head predicts
``(t_x, t_y, c)``, with depth ``t_z = k * sigmoid(c)``.
"""

import math
from typing import Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ['camera_depth_scale', 'get_camera_trans', 'project_to_heatmap', 'crop_camera_to_image']

ArrayLike = Union[np.ndarray, torch.Tensor]


def camera_depth_scale(focal: Sequence[float] = (5000., 5000.),
                       input_body_shape: Sequence[int] = (256, 192),
                       camera_3d_size: float = 2.5) -> float:
    """Return ``k = sqrt(fx * fy * size**2 / (H * W))`` (56.38186 for the defaults)."""
    height, width = input_body_shape
    return math.sqrt(focal[0] * focal[1] * camera_3d_size * camera_3d_size / (height * width))


def get_camera_trans(cam: torch.Tensor,
                     focal: Sequence[float] = (5000., 5000.),
                     input_body_shape: Sequence[int] = (256, 192),
                     camera_3d_size: float = 2.5) -> torch.Tensor:
    """Turn the raw camera output into the SMPL-X translation in the virtual camera.

    Args:
        cam: (..., 3) raw camera parameters ``(t_x, t_y, c)``.
        focal: Virtual focal lengths (fx, fy) in body-crop pixels.
        input_body_shape: Network input (H, W).
        camera_3d_size: Metric size that the crop spans at the reference depth.

    Returns:
        (..., 3) translation ``(t_x, t_y, k * sigmoid(c))``.
    """
    if cam.shape[-1] != 3:
        raise ValueError(f'get_camera_trans expects (..., 3) camera parameters, got '
                         f'{tuple(cam.shape)}')
    scale = torch.tensor(camera_depth_scale(focal, input_body_shape, camera_3d_size),
                         dtype=cam.dtype, device=cam.device)
    t_z = scale * torch.sigmoid(cam[..., 2])
    return torch.cat((cam[..., :2], t_z.unsqueeze(-1)), dim=-1)


def project_to_heatmap(points: torch.Tensor,
                       focal: Sequence[float] = (5000., 5000.),
                       princpt: Sequence[float] = (96., 128.),
                       input_body_shape: Sequence[int] = (256, 192),
                       output_hm_shape: Sequence[int] = (16, 12)) -> torch.Tensor:
    """Project camera-frame points and express them in heatmap units.

    ``u = X / (Z + 1e-4) * fx + cx`` (body-crop pixels), then ``u / W * hm_W``; likewise v.

    Args:
        points: (..., 3) points in the virtual camera frame.
        focal: Virtual focal lengths (fx, fy).
        princpt: Virtual principal point (cx, cy).
        input_body_shape: Network input (H, W).
        output_hm_shape: Heatmap (H, W); a 3-tuple (D, H, W) as in the official config is
            accepted too.

    Returns:
        (..., 2) projected points in heatmap units (12 x 16 for the defaults).
    """
    if points.shape[-1] != 3:
        raise ValueError(f'project_to_heatmap expects (..., 3) points, got {tuple(points.shape)}')
    hm_h, hm_w = output_hm_shape[-2], output_hm_shape[-1]
    depth = points[..., 2] + 1e-4
    x = points[..., 0] / depth * focal[0] + princpt[0]
    y = points[..., 1] / depth * focal[1] + princpt[1]
    x = x / input_body_shape[1] * hm_w
    y = y / input_body_shape[0] * hm_h
    return torch.stack((x, y), dim=-1)


def crop_camera_to_image(bbox_xywh: ArrayLike,
                         focal: Sequence[float] = (5000., 5000.),
                         princpt: Sequence[float] = (96., 128.),
                         input_body_shape: Sequence[int] = (256, 192)
                         ) -> Tuple[ArrayLike, ArrayLike]:
    """Express the virtual camera in original-image pixels for a processed body box.

    Args:
        bbox_xywh: (..., 4) processed body boxes ``(x, y, w, h)`` (aspect-fixed and scaled).
        focal: Virtual focal lengths (fx, fy) in body-crop pixels.
        princpt: Virtual principal point (cx, cy) in body-crop pixels.
        input_body_shape: Network input (H, W).

    Returns:
        ``(focal, princpt)``, each (..., 2) in original-image pixels, of the input's type.
    """
    if bbox_xywh.shape[-1] != 4:
        raise ValueError(f'crop_camera_to_image expects (..., 4) boxes, got '
                         f'{tuple(bbox_xywh.shape)}')
    height, width = input_body_shape
    x, y, w, h = (bbox_xywh[..., i] for i in range(4))
    stack = torch.stack if isinstance(bbox_xywh, torch.Tensor) else np.stack
    img_focal = stack((focal[0] / width * w, focal[1] / height * h), -1)
    img_princpt = stack((princpt[0] / width * w + x, princpt[1] / height * h + y), -1)
    return img_focal, img_princpt
