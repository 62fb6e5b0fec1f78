"""Horizontal flipping of images, keypoints and SMPL-X pose parameters.

Conventions follow the official code: a 2D x becomes ``W - 1 - x`` (pixel centres), a 3D x
in the camera frame becomes ``-x``, left/right joint pairs are swapped, and an axis-angle
rotation ``(ax, ay, az)`` becomes ``(ax, -ay, -az)`` (mirroring about the y-z plane). Every
function returns a new array and is its own inverse.
"""

from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from smplestx.structures.keypoint import SMPLX_137_FLIP_PAIRS, SMPLX_ROT53_FLIP_PAIRS

Pairs = Sequence[Tuple[int, int]]


def swap_pairs(array: np.ndarray, pairs: Pairs, axis: int = 0) -> np.ndarray:
    """Swap the entries of each ``(i, j)`` pair along ``axis``.

    Args:
        array: Any array (keypoints, masks, per-joint rotations).
        pairs: Index pairs.
        axis: The joint axis.

    Returns:
        A copy with the pairs swapped.
    """
    arr = np.asarray(array)
    order = np.arange(arr.shape[axis])
    for i, j in pairs:
        order[i], order[j] = j, i
    return np.take(arr, order, axis=axis)


def flip_image(img: np.ndarray) -> np.ndarray:
    """Mirror an ``(H, W, ...)`` image left-right (contiguous copy)."""
    return np.ascontiguousarray(np.asarray(img)[:, ::-1])


def flip_keypoints_2d(keypoints: np.ndarray, img_width: float,
                      flip_pairs: Optional[Pairs] = None) -> np.ndarray:
    """Mirror 2D keypoints: ``x -> W - 1 - x`` and swap left/right joints.

    Args:
        keypoints: ``(J, >=2)`` keypoints; columns beyond x, y are carried along.
        img_width: Width of the image the keypoints live in.
        flip_pairs: Joint pairs; the 137-joint pairs by default.

    Returns:
        The flipped keypoints.
    """
    out = np.array(keypoints, copy=True)
    out[:, 0] = img_width - 1 - out[:, 0]
    return swap_pairs(out, SMPLX_137_FLIP_PAIRS if flip_pairs is None else flip_pairs)


def flip_keypoints_3d(keypoints: np.ndarray, flip_pairs: Optional[Pairs] = None) -> np.ndarray:
    """Mirror camera-frame 3D keypoints: ``x -> -x`` and swap left/right joints.

    Args:
        keypoints: ``(J, >=3)`` keypoints.
        flip_pairs: Joint pairs; the 137-joint pairs by default.

    Returns:
        The flipped keypoints.
    """
    out = np.array(keypoints, copy=True)
    out[:, 0] = -out[:, 0]
    return swap_pairs(out, SMPLX_137_FLIP_PAIRS if flip_pairs is None else flip_pairs)


def flip_axis_angle(rotations: np.ndarray) -> np.ndarray:
    """Mirror ``(..., 3)`` axis-angle rotations: negate the y and z components."""
    out = np.array(rotations, copy=True)
    out[..., 1:3] *= -1
    return out


def flip_smplx_pose(pose: np.ndarray, flip_pairs: Optional[Pairs] = None) -> np.ndarray:
    """Mirror a full SMPL-X pose in the 53-rotation order (root, body, lhand, rhand, jaw).

    Args:
        pose: ``(53, 3)`` or flat ``(159,)`` axis-angle pose.
        flip_pairs: Rotation pairs; :data:`SMPLX_ROT53_FLIP_PAIRS` by default.

    Returns:
        The mirrored pose, same shape as the input.
    """
    arr = np.asarray(pose)
    rots = arr.reshape(-1, 3)
    rots = swap_pairs(rots, SMPLX_ROT53_FLIP_PAIRS if flip_pairs is None else flip_pairs)
    return flip_axis_angle(rots).reshape(arr.shape)


_POSE_KEYS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose')


def smplx_params_to_pose(params: Mapping[str, np.ndarray]) -> np.ndarray:
    """Stack ``smplx``-named pose parameters into the ``(53, 3)`` rotation order."""
    return np.concatenate([np.asarray(params[k], dtype=np.float64).reshape(-1, 3)
                           for k in _POSE_KEYS], axis=0)


def flip_smplx_params(params: Mapping[str, np.ndarray]) -> dict:
    """Mirror ``smplx``-named pose parameters (hands swapped, body pairs swapped, y/z negated).

    Only the five pose entries change; ``betas``, ``expression``, ``transl`` and any other
    entry are copied unchanged (the official pipeline does not mirror the translation).

    Args:
        params: A mapping with ``global_orient`` (3), ``body_pose`` (21, 3),
            ``left_hand_pose``/``right_hand_pose`` (15, 3) and ``jaw_pose`` (3).

    Returns:
        A new dict with the same keys and shapes.
    """
    pose = flip_smplx_pose(smplx_params_to_pose(params))
    out = {k: np.array(v, copy=True) for k, v in params.items()}
    start = 0
    for key, num in zip(_POSE_KEYS, (1, 21, 15, 15, 1)):
        src = np.asarray(params[key])
        out[key] = pose[start:start + num].reshape(src.shape).astype(src.dtype)
        start += num
    return out
