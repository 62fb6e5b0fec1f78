"""Rotation conversions with the exact numerics of the official SMPLest-X code.

* 6D -> matrix: the 6 numbers are a row-major 3x2 matrix whose columns are Gram-Schmidt
  orthonormalised (Zhou et al., CVPR 2019).
* matrix -> axis-angle: the torchgeometry matrix -> quaternion algorithm followed by the ceres
  quaternion -> angle-axis algorithm, NaNs set to 0 (spec §2.5).
* axis-angle -> matrix for the losses: the quaternion-based ``batch_rodrigues``.

Every function is vectorised over arbitrary leading dimensions and keeps the input's device and
dtype.
"""

import torch
import torch.nn.functional as F

__all__ = [
    'rot6d_to_rotmat', 'rot6d_to_axis_angle', 'rotmat_to_quaternion', 'quaternion_to_axis_angle',
    'rotmat_to_axis_angle', 'quaternion_to_rotmat', 'batch_rodrigues'
]


def _check_last_dims(x: torch.Tensor, shape: tuple, name: str) -> None:
    if tuple(x.shape[x.dim() - len(shape):]) != shape or x.dim() < len(shape):
        raise ValueError(f'{name} expects a tensor of shape (..., '
                         f'{", ".join(map(str, shape))}), got {tuple(x.shape)}')


def _gram_schmidt_columns(x: torch.Tensor) -> tuple:
    """Return the orthonormal columns ``b1, b2`` of a (..., 6) row-major 3x2 input."""
    mat = x.reshape(*x.shape[:-1], 3, 2)
    a1 = mat[..., 0]
    a2 = mat[..., 1]
    b1 = F.normalize(a1, dim=-1)
    dot = torch.einsum('...i,...i->...', b1, a2).unsqueeze(-1)
    b2 = F.normalize(a2 - dot * b1, dim=-1)
    return b1, b2


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """Convert 6D rotations to rotation matrices.

    Args:
        x: (..., 6) tensor; viewed as a row-major 3x2 matrix ``[[x0, x1], [x2, x3], [x4, x5]]``.

    Returns:
        (..., 3, 3) rotation matrices with columns ``b1, b2, b1 x b2``.
    """
    _check_last_dims(x, (6, ), 'rot6d_to_rotmat')
    b1, b2 = _gram_schmidt_columns(x)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def rotmat_to_quaternion(rotmat: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Convert rotation matrices to (w, x, y, z) quaternions (torchgeometry algorithm).

    Args:
        rotmat: (..., 3, 3) rotation matrices.
        eps: Threshold of the branch selection on the (2, 2) entry.

    Returns:
        (..., 4) quaternions, exactly as ``tgm.rotation_matrix_to_quaternion``.
    """
    _check_last_dims(rotmat, (3, 3), 'rotmat_to_quaternion')
    m = rotmat.transpose(-1, -2)  # the algorithm reads the transposed matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]

    mask_d2 = (m22 < eps).to(m.dtype)
    mask_d0_d1 = (m00 > m11).to(m.dtype)
    mask_d0_nd1 = (m00 < -m11).to(m.dtype)

    t0 = 1 + m00 - m11 - m22
    t1 = 1 - m00 + m11 - m22
    t2 = 1 - m00 - m11 + m22
    t3 = 1 + m00 + m11 + m22
    q0 = torch.stack([m12 - m21, t0, m01 + m10, m20 + m02], -1)
    q1 = torch.stack([m20 - m02, m01 + m10, t1, m12 + m21], -1)
    q2 = torch.stack([m01 - m10, m20 + m02, m12 + m21, t2], -1)
    q3 = torch.stack([t3, m12 - m21, m20 - m02, m01 - m10], -1)

    c0 = (mask_d2 * mask_d0_d1).unsqueeze(-1)
    c1 = (mask_d2 * (1 - mask_d0_d1)).unsqueeze(-1)
    c2 = ((1 - mask_d2) * mask_d0_nd1).unsqueeze(-1)
    c3 = ((1 - mask_d2) * (1 - mask_d0_nd1)).unsqueeze(-1)

    q = q0 * c0 + q1 * c1 + q2 * c2 + q3 * c3
    scale = torch.sqrt(t0.unsqueeze(-1) * c0 + t1.unsqueeze(-1) * c1 + t2.unsqueeze(-1) * c2 +
                       t3.unsqueeze(-1) * c3)
    return q / scale * 0.5


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """Convert (w, x, y, z) quaternions to axis-angle (ceres algorithm).

    Args:
        quaternion: (..., 4) quaternions.

    Returns:
        (..., 3) axis-angle vectors.
    """
    _check_last_dims(quaternion, (4, ), 'quaternion_to_axis_angle')
    q1, q2, q3 = quaternion[..., 1], quaternion[..., 2], quaternion[..., 3]
    sin_squared = q1 * q1 + q2 * q2 + q3 * q3
    sin_theta = torch.sqrt(sin_squared)
    cos_theta = quaternion[..., 0]
    two_theta = 2.0 * torch.where(cos_theta < 0.0, torch.atan2(-sin_theta, -cos_theta),
                                  torch.atan2(sin_theta, cos_theta))
    k = torch.where(sin_squared > 0.0, two_theta / sin_theta, torch.full_like(sin_theta, 2.0))
    return torch.stack((q1 * k, q2 * k, q3 * k), dim=-1)


def _nan_to_zero(x: torch.Tensor) -> torch.Tensor:
    return torch.where(torch.isnan(x), torch.zeros_like(x), x)


def rotmat_to_axis_angle(rotmat: torch.Tensor) -> torch.Tensor:
    """Convert rotation matrices to axis-angle along the official quaternion route.

    Args:
        rotmat: (..., 3, 3) rotation matrices.

    Returns:
        (..., 3) axis-angle vectors; NaNs (degenerate inputs) are set to 0.
    """
    _check_last_dims(rotmat, (3, 3), 'rotmat_to_axis_angle')
    return _nan_to_zero(quaternion_to_axis_angle(rotmat_to_quaternion(rotmat)))


def rot6d_to_axis_angle(x: torch.Tensor, official_cross_quirk: bool = False) -> torch.Tensor:
    """Convert 6D rotations to axis-angle, as the official model does for its outputs.

    Args:
        x: (..., 6) 6D rotations.
        official_cross_quirk: Reproduce the official ``torch.cross(b1, b2)`` without ``dim``:
            on the flattened (N, 3) columns PyTorch then crosses along the first axis of size
            3, i.e. along the batch when N == 3. Only for bit-parity with official outputs of
            batches of exactly three rotations; wrong otherwise.

    Returns:
        (..., 3) axis-angle vectors.
    """
    _check_last_dims(x, (6, ), 'rot6d_to_axis_angle')
    b1, b2 = _gram_schmidt_columns(x)
    if official_cross_quirk:
        flat1, flat2 = b1.reshape(-1, 3), b2.reshape(-1, 3)
        dim = 0 if flat1.shape[0] == 3 else 1
        b3 = torch.cross(flat1, flat2, dim=dim).reshape(b1.shape)
    else:
        b3 = torch.cross(b1, b2, dim=-1)
    return rotmat_to_axis_angle(torch.stack((b1, b2, b3), dim=-1))


def quaternion_to_rotmat(quat: torch.Tensor) -> torch.Tensor:
    """Convert (w, x, y, z) quaternions (normalised here) to rotation matrices.

    Args:
        quat: (..., 4) quaternions.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    _check_last_dims(quat, (4, ), 'quaternion_to_rotmat')
    q = quat / quat.norm(p=2, dim=-1, keepdim=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    w2, x2, y2, z2 = w.pow(2), x.pow(2), y.pow(2), z.pow(2)
    wx, wy, wz = w * x, w * y, w * z
    xy, xz, yz = x * y, x * z, y * z
    mat = torch.stack([
        w2 + x2 - y2 - z2, 2 * xy - 2 * wz, 2 * wy + 2 * xz,
        2 * wz + 2 * xy, w2 - x2 + y2 - z2, 2 * yz - 2 * wx,
        2 * xz - 2 * wy, 2 * wx + 2 * yz, w2 - x2 - y2 + z2
    ], dim=-1)
    return mat.reshape(*quat.shape[:-1], 3, 3)


def batch_rodrigues(axis_angle: torch.Tensor) -> torch.Tensor:
    """Convert axis-angle to rotation matrices through a half-angle quaternion.

    The angle is ``||theta + 1e-8||`` as in the official loss code, so a zero vector maps to
    the identity.

    Args:
        axis_angle: (..., 3) axis-angle vectors.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    _check_last_dims(axis_angle, (3, ), 'batch_rodrigues')
    angle = torch.norm(axis_angle + 1e-8, p=2, dim=-1).unsqueeze(-1)
    axis = axis_angle / angle
    half = angle * 0.5
    quat = torch.cat([torch.cos(half), torch.sin(half) * axis], dim=-1)
    return quaternion_to_rotmat(quat)
