"""Write a :class:`~.clip.MotionClip` as a BVH motion file.

* Hierarchy: the 55 SMPL-X joints (``smplx`` names and parents). ``OFFSET`` is the joint's
  position relative to its parent in the person's shaped rest pose (T-pose, mean betas,
  expression zero), in **centimetres**; leaf joints end in an ``End Site`` half as long as
  their own bone, continuing it.
* World: Y-up, centimetres, the video camera at the origin looking down -z (the glTF world of
  :mod:`.glb` times 100).
* Channels: the pelvis has ``Xposition Yposition Zposition Zrotation Yrotation Xrotation``
  (its ``OFFSET`` is zero, so the position channels are the world pelvis position whether a
  reader adds them to the offset or replaces it); every other joint
  ``Zrotation Yrotation Xrotation``. Joints whose offset moves with the expression (``smplx``
  regresses joints from the expressive template) also get position channels, which hold the
  joint's full offset from its parent (they replace ``OFFSET``, as Blender and bvhio read them).
* Rotation order: the local rotation is ``R = Rz(z) @ Ry(y) @ Rx(x)`` (the channel order read
  left to right, intrinsic), angles in degrees, continuous over time: of the two Euler triples
  of each rotation and their 360-degree shifts, each frame takes the one nearest the previous
  frame, so there is no jump at +-180 degrees.
* ``Frame Time`` is ``1 / fps`` of the video; one frame per video frame.
"""

import io

import numpy as np
from scipy.spatial.transform import Rotation

from smplestx.utils.io import atomic_write_text

from .clip import MotionClip
from .trajectory import CV_TO_YUP

#: Euler axes, as the BVH channel order (intrinsic, left to right).
EULER_ORDER = 'ZYX'
#: Metres to BVH units.
CM_PER_M = 100.0


def continuous_euler(rotations: np.ndarray, order: str = EULER_ORDER) -> np.ndarray:
    """(T, 3) intrinsic Euler angles (radians) of (T, 3, 3) rotations, unwrapped over time.

    Each frame picks, from the two Euler solutions of its rotation (for Tait-Bryan axes,
    ``(a, b, c)`` and ``(a + pi, pi - b, c + pi)``) shifted by multiples of 2 pi, the triple
    nearest the previous frame's.
    """
    angles = Rotation.from_matrix(rotations).as_euler(order)
    other = angles + np.array([np.pi, 0.0, np.pi])
    other[:, 1] = np.pi - angles[:, 1]
    out = np.empty_like(angles)
    out[0] = angles[0]
    for t in range(1, len(angles)):
        best, best_cost = None, np.inf
        for candidate in (angles[t], other[t]):
            shifted = candidate + 2 * np.pi * np.round((out[t - 1] - candidate) / (2 * np.pi))
            cost = np.abs(shifted - out[t - 1]).sum()
            if cost < best_cost:
                best, best_cost = shifted, cost
        out[t] = best
    return out


def _numbers(values) -> str:
    return ' '.join(f'{v:.6f}' for v in values)


def bvh_text(clip: MotionClip) -> str:
    """The BVH file of a clip."""
    rig = clip.rig
    names, parents = rig.joint_names, rig.parents
    children = [[int(c) for c in np.flatnonzero(parents == j)] for j in range(len(parents))]
    rest = rig.rest_joints
    offsets = np.zeros_like(rest)
    offsets[1:] = rest[1:] - rest[parents[1:]]
    moving = set(int(j) for j in rig.offset_moved_joints())
    rotation_channels = ' '.join(f'{axis}rotation' for axis in EULER_ORDER)
    position_channels = 'Xposition Yposition Zposition'
    order = []  # joint indices in file order (depth first)
    out = io.StringIO()
    out.write('HIERARCHY\n')

    def write(j: int, depth: int) -> None:
        pad = '  ' * depth
        kind = 'ROOT' if j == 0 else 'JOINT'
        has_position = j == 0 or j in moving
        channels = (f'6 {position_channels} {rotation_channels}' if has_position else
                    f'3 {rotation_channels}')
        out.write(f'{pad}{kind} {names[j]}\n{pad}{{\n')
        out.write(f'{pad}  OFFSET {_numbers(offsets[j] * CM_PER_M if j else (0, 0, 0))}\n')
        out.write(f'{pad}  CHANNELS {channels}\n')
        order.append(j)
        for c in children[j]:
            write(c, depth + 1)
        if not children[j]:
            tip = offsets[j] * 0.5 * CM_PER_M if j else np.array([0.0, 10.0, 0.0])
            out.write(f'{pad}  End Site\n{pad}  {{\n{pad}    OFFSET {_numbers(tip)}\n'
                      f'{pad}  }}\n')
        out.write(f'{pad}}}\n')

    write(0, 0)

    root_rotation, root_position = clip.world_root(CV_TO_YUP)
    rotations = clip.rotations.copy()
    rotations[:, 0] = root_rotation
    degrees = np.degrees(np.stack([continuous_euler(rotations[:, j])
                                   for j in range(len(parents))], axis=1))
    rest_per_frame = clip.rest_joints()
    columns = []
    for j in order:
        if j == 0:
            columns.append(root_position * CM_PER_M)
        elif j in moving:
            columns.append((rest_per_frame[:, j] - rest_per_frame[:, parents[j]]) * CM_PER_M)
        columns.append(degrees[:, j])
    motion = np.concatenate(columns, axis=1)
    out.write(f'MOTION\nFrames: {clip.num_frames}\nFrame Time: {1.0 / clip.fps:.8f}\n')
    for row in motion:
        out.write(_numbers(row) + '\n')
    return out.getvalue()


def write_bvh(clip: MotionClip, path: str) -> str:
    """Write the clip as a ``.bvh`` file (atomically) and return ``path``."""
    atomic_write_text(path, bvh_text(clip))
    return path
