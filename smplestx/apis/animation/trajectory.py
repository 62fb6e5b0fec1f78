r"""A camera-consistent root trajectory: every frame of a track in one fixed camera of the video.

The network predicts each person's translation ``transl`` in the virtual camera of that
frame's crop (focal 5000 px in the 256x192 body crop), which the demo maps to the image as
a per-person, per-frame pinhole camera ``focal`` (F_x, F_y) and ``princpt`` (c_x, c_y)
(``u = F_x X / Z + c_x``). That focal grows with the box, so a person standing still
"moves" in depth whenever the detector box changes size. :func:`video_frame_transl`
re-expresses every frame in one camera: focal ``f`` and principal point ``(p_x, p_y)``,
with axes parallel to the per-frame cameras (which differ only in their intrinsics).

For each frame, the body joints keep their image positions: with ``B_j`` the 22 body joints
(pelvis to wrists) of the frame's own parameters posed without ``transl``, and ``A_j`` the
same joints of the exported rig (the track's mean betas)::

    (u_j, v_j) = (F_x X_j / Z_j + c_x,  F_y Y_j / Z_j + c_y)   for (X, Y, Z)_j = B_j + transl
    transl' = argmin_t  sum_j |f (A_j + t)_xy - ((u_j, v_j) - p) (A_j + t)_z|^2

a linear least-squares problem in ``t`` (3 unknowns, 44 equations;
:func:`fit_translation`). For a flat, fronto-parallel body it is exact: the apparent size is
kept, so the depth becomes ``Z' = Z f / F``, and ``x' = x + (c_x - p_x) Z' / f``. Using the
whole skeleton, a change of box size or of the per-frame shape estimate does not move the
person.
The crop camera has almost no perspective (a focal of 5000 px for a 192-px crop is a 2.2
degree field of view), so what it cannot express of the video's perspective stays a limit:
on a synthetic walk 3.5-5 m from the camera the pelvis lands within a few millimetres of the
truth (``tests/test_apis/test_animation/test_trajectory.py``).

Axes: OpenCV camera (x right, y down, z forward, metres). :data:`CV_TO_YUP` turns them into
glTF's Y-up world (x right, y up, z towards the camera: a rotation by 180 degrees about x),
in which the video camera sits at the origin looking down -z, as a glTF camera does.
"""

import dataclasses
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from smplestx.visualization.mesh_renderer import project_points

#: OpenCV camera axes (x right, y down, z forward) -> Y-up world (x right, y up, z backward).
CV_TO_YUP = np.diag([1.0, -1.0, -1.0])
#: Joints whose image positions the trajectory keeps: the 22 body joints (pelvis .. wrists).
FIT_JOINTS = 22
#: Y-up world -> Z-up world (x right, y forward away from the camera, z up): the AMASS /
#: Blender convention, a rotation by +90 degrees about x.
YUP_TO_ZUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclasses.dataclass(frozen=True)
class VideoCamera:
    """One pinhole camera for a whole video (square pixels).

    Attributes:
        focal: Focal length in pixels.
        principal_point: (p_x, p_y) in pixels.
        image_size: (W, H) in pixels.
    """

    focal: float
    principal_point: Tuple[float, float]
    image_size: Tuple[int, int]

    @classmethod
    def from_image(cls, image_size: Sequence[int], fov: Optional[float] = None,
                   focal: Optional[float] = None) -> 'VideoCamera':
        """The camera of a ``(W, H)`` video with its principal point at the image centre.

        Args:
            image_size: (W, H) in pixels.
            fov: Horizontal field of view in degrees (``f = W / 2 / tan(fov / 2)``).
            focal: Focal length in pixels (exclusive with ``fov``).

        Returns:
            The camera; without ``fov`` and ``focal`` the focal is the image diagonal,
            ``sqrt(W^2 + H^2)`` (a diagonal field of view of 53.1 degrees).

        Raises:
            ValueError: If both or invalid values are given.
        """
        width, height = (int(v) for v in image_size[:2])
        if width <= 0 or height <= 0:
            raise ValueError(f'image size must be positive, got {width}x{height}')
        if fov is not None and focal is not None:
            raise ValueError('give the video camera as a field of view or a focal, not both')
        if fov is not None:
            if not 0.0 < fov < 180.0:
                raise ValueError(f'field of view must be in (0, 180) degrees, got {fov}')
            focal = width / 2.0 / math.tan(math.radians(fov) / 2.0)
        elif focal is None:
            focal = math.hypot(width, height)
        if not focal > 0:
            raise ValueError(f'focal length must be positive, got {focal}')
        return cls(float(focal), (width / 2.0, height / 2.0), (width, height))

    @property
    def yfov(self) -> float:
        """Vertical field of view in radians."""
        return 2.0 * math.atan(self.image_size[1] / 2.0 / self.focal)

    @property
    def aspect_ratio(self) -> float:
        """Width over height."""
        return self.image_size[0] / self.image_size[1]


def project(points: np.ndarray, focal: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(T, J, 2) pinhole projection of (T, J, 3) points with per-frame (T, 2) intrinsics."""
    return project_points(points, focal[:, None], centre[:, None])


def fit_translation(joints: np.ndarray, pixels: np.ndarray, focal: np.ndarray,
                    centre: np.ndarray) -> np.ndarray:
    """(T, 3) translations placing (T, J, 3) ``joints`` on their (T, J, 2) ``pixels``.

    Linear least squares of ``F_x (X_j + t_x) = (u_j - c_x)(Z_j + t_z)`` and the ``y``
    equivalent over the joints, with per-frame focal ``F`` and centre ``c`` (T, 2).
    """
    offset = np.moveaxis(pixels - centre[:, None], -1, 1)  # (T, 2, J)
    num, count = joints.shape[:2]
    lhs = np.zeros((num, 2, count, 3))
    lhs[:, 0, :, 0] = focal[:, 0, None]
    lhs[:, 1, :, 1] = focal[:, 1, None]
    lhs[..., 2] = -offset
    rhs = offset * joints[:, None, :, 2] - focal[:, :, None] * np.moveaxis(joints[..., :2], -1, 1)
    lhs, rhs = lhs.reshape(num, -1, 3), rhs.reshape(num, -1)
    normal = np.einsum('tki,tkj->tij', lhs, lhs)
    return np.linalg.solve(normal, np.einsum('tki,tk->ti', lhs, rhs)[..., None])[..., 0]


def video_frame_transl(transl: np.ndarray, focal: np.ndarray, princpt: np.ndarray,
                       frame_joints: np.ndarray, export_joints: np.ndarray,
                       camera: VideoCamera) -> np.ndarray:
    """Re-express per-frame camera translations in one video camera (module docstring).

    Args:
        transl: (T, 3) ``transl`` of each frame, in that frame's camera (metres).
        focal: (T, 2) per-frame focal (F_x, F_y) in image pixels.
        princpt: (T, 2) per-frame principal point in image pixels.
        frame_joints: (T, J, 3) posed joints of each frame's own parameters, without
            ``transl`` (only the first :data:`FIT_JOINTS` are used).
        export_joints: (T, J, 3) the same for the exported rig (mean betas).
        camera: The video camera.

    Returns:
        (T, 3) ``transl`` in the video camera (OpenCV axes, metres), float64.

    Raises:
        ValueError: If a joint is not in front of its camera or a focal is not positive.
    """
    transl = np.asarray(transl, dtype=np.float64).reshape(-1, 3)
    focal = np.asarray(focal, dtype=np.float64).reshape(-1, 2)
    princpt = np.asarray(princpt, dtype=np.float64).reshape(-1, 2)
    seen = np.asarray(frame_joints, dtype=np.float64)[:, :FIT_JOINTS] + transl[:, None]
    if np.any(seen[..., 2] <= 0):
        raise ValueError('a joint lies behind its camera (z <= 0): not a camera translation')
    if np.any(focal <= 0):
        raise ValueError('per-frame focal lengths must be positive')
    num = len(transl)
    video_focal = np.full((num, 2), camera.focal)
    video_centre = np.broadcast_to(np.asarray(camera.principal_point, dtype=np.float64),
                                   (num, 2))
    joints = np.asarray(export_joints, dtype=np.float64)[:, :FIT_JOINTS]
    return fit_translation(joints, project(seen, focal, princpt), video_focal, video_centre)
