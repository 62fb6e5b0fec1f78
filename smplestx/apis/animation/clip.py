"""One person's motion, ready to export: a rig, per-frame rotations, a root trajectory.

A :class:`MotionClip` is built from a demo track file (``tracks/track_<id>.npz``, see
:meth:`smplestx.apis.exporters.ResultWriter.write_tracks`):

* the shape is the track's mean ``betas`` (one rig per person);
* rotations are absolute: the SMPL-X hand mean is added to the hand poses, as
  ``smplx`` does with ``flat_hand_mean=False``;
* ``transl`` is re-expressed in one video camera (:mod:`.trajectory`);
* frames where the person was not found (gaps in ``frame_index``) are filled in, rotations by
  spherical and the rest by linear interpolation between the frames around them, so every
  format has one sample per video frame (``observed`` tells which were predicted).
"""

import dataclasses
import json
import os.path as osp
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy.spatial.transform import Rotation

from .rig import NUM_JOINTS, POSE_BLOCKS, BodyRig, ShapeSpace, build_rig, forward_kinematics
from .trajectory import VideoCamera, video_frame_transl

#: Keys a track file (or a demo per-person file, then one frame) must hold.
TRACK_KEYS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
              'betas', 'expression', 'transl', 'focal', 'princpt')
#: Frame rate used when a track file does not know its video's (NaN ``fps``).
DEFAULT_FPS = 30.0


class TrackFileError(ValueError):
    """A track file is missing, unreadable or inconsistent; the message names the file."""


@dataclasses.dataclass
class MotionClip:
    """One person's motion, one sample per video frame.

    Attributes:
        rig: The person's rig (mean betas).
        camera: The video camera the trajectory is expressed in.
        fps: Frames per second of the video.
        frame_index: (T,) video frame numbers, consecutive.
        observed: (T,) whether the person was predicted in that frame (else interpolated).
        rotations: (T, 55, 3, 3) local joint rotations in ``smplx``'s full-pose order,
            hand mean included; joint 0 is ``global_orient`` in the OpenCV video camera.
        transl: (T, 3) ``smplx`` ``transl`` in the video camera (OpenCV axes, metres).
        expression: (T, E) expression coefficients.
        name: A label (e.g. ``track_0003``).
    """

    rig: BodyRig
    camera: VideoCamera
    fps: float
    frame_index: np.ndarray
    observed: np.ndarray
    rotations: np.ndarray
    transl: np.ndarray
    expression: np.ndarray
    name: str = 'track'

    @property
    def num_frames(self) -> int:
        """Number of samples (T)."""
        return len(self.frame_index)

    @property
    def times(self) -> np.ndarray:
        """(T,) seconds from the first frame."""
        return (self.frame_index - self.frame_index[0]) / self.fps

    def rest_joints(self) -> np.ndarray:
        """(T, 55, 3) rest joints of each frame (they move with the expression)."""
        return self.rig.joints_at(self.expression)

    def world_root(self, world_from_camera: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Root rotation (T, 3, 3) and pelvis position (T, 3) in a world rotated from the camera.

        Args:
            world_from_camera: (3, 3) rotation, e.g. :data:`.trajectory.CV_TO_YUP`.
        """
        pelvis = self.rest_joints()[:, 0] + self.transl
        rotation = np.einsum('ij,tjk->tik', world_from_camera, self.rotations[:, 0])
        return rotation, pelvis @ np.asarray(world_from_camera).T

    def full_pose(self) -> np.ndarray:
        """(T, 165) axis-angle full pose, hand mean included (``flat_hand_mean=True`` use)."""
        rotvec = Rotation.from_matrix(self.rotations.reshape(-1, 3, 3)).as_rotvec()
        return rotvec.reshape(self.num_frames, NUM_JOINTS * 3)


def _read_track(path: str) -> Mapping[str, np.ndarray]:
    if not osp.isfile(path):
        raise TrackFileError(f'track file {path} does not exist')
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise TrackFileError(f'track file {path} is not a readable .npz: {err}') from None
    missing = [key for key in TRACK_KEYS if key not in arrays]
    if missing:
        raise TrackFileError(f'track file {path} has no {", ".join(missing)} (expected a '
                             f'demo tracks/track_<id>.npz or smplx/<frame>_<person>.npz)')
    if 'frame_index' not in arrays:  # a per-person file of one frame
        arrays['frame_index'] = np.zeros(1, dtype=np.int64)
        arrays['fps'] = np.asarray(np.nan)
    arrays['focal'] = np.asarray(arrays['focal']).reshape(-1, 2)
    arrays['princpt'] = np.asarray(arrays['princpt']).reshape(-1, 2)
    return arrays


def image_size_of_track(path: str, arrays: Optional[Mapping[str, np.ndarray]] = None
                        ) -> Optional[Tuple[int, int]]:
    """(W, H) of a track's video: its ``image_size`` (H, W), else the demo's ``index.json``."""
    if arrays is not None and 'image_size' in arrays:
        height, width = (int(v) for v in np.asarray(arrays['image_size']).reshape(-1)[:2])
        return width, height
    index = osp.join(osp.dirname(osp.dirname(osp.abspath(path))), 'index.json')
    if osp.isfile(index):
        with open(index, encoding='utf-8') as f:
            frames = json.load(f).get('frames') or []
        if frames and frames[0].get('image_size'):
            height, width = frames[0]['image_size'][:2]
            return int(width), int(height)
    return None


def _absolute_rotvecs(arrays: Mapping[str, np.ndarray], hand_mean: np.ndarray) -> np.ndarray:
    """(T, 55, 3) axis-angle full pose with the hand mean added (``smplx`` adds axis-angles)."""
    num = len(arrays['global_orient'])
    full = np.zeros((num, NUM_JOINTS, 3))
    for key, first in POSE_BLOCKS.items():
        if key not in arrays:
            continue
        block = np.asarray(arrays[key], dtype=np.float64).reshape(num, -1, 3)
        full[:, first:first + block.shape[1]] = block
    full[:, POSE_BLOCKS['left_hand_pose']:] += hand_mean.reshape(30, 3)
    return full


def _fill_gaps(frame_index: np.ndarray, rotations: np.ndarray, linear: Sequence[np.ndarray]):
    """Resample to consecutive frames: slerp for rotations, linear for the other arrays."""
    frames = np.arange(frame_index[0], frame_index[-1] + 1)
    observed = np.isin(frames, frame_index)
    if observed.all():
        return frames, observed, rotations, list(linear)
    before = np.clip(np.searchsorted(frame_index, frames, side='right') - 1, 0,
                     len(frame_index) - 2)
    after = before + 1
    weight = (frames - frame_index[before]) / (frame_index[after] - frame_index[before])
    rot_a = Rotation.from_matrix(rotations[before].reshape(-1, 3, 3))
    rot_b = Rotation.from_matrix(rotations[after].reshape(-1, 3, 3))
    step = (rot_a.inv() * rot_b).as_rotvec() * np.repeat(weight, rotations.shape[1])[:, None]
    filled = (rot_a * Rotation.from_rotvec(step)).as_matrix().reshape(len(frames), -1, 3, 3)
    out = [a[before] + weight.reshape(-1, *([1] * (a.ndim - 1))) * (a[after] - a[before])
           for a in linear]
    return frames, observed, filled, out


def clip_from_track(path: str, shape_space: ShapeSpace, camera: Optional[VideoCamera] = None,
                    fov: Optional[float] = None, focal: Optional[float] = None,
                    image_size: Optional[Sequence[int]] = None,
                    gender: str = 'neutral') -> MotionClip:
    """Build the :class:`MotionClip` of a demo track file.

    Args:
        path: ``tracks/track_<id>.npz``.
        shape_space: The body model (:func:`.rig.load_shape_space`).
        camera: The video camera; by default built from the video's size with ``fov`` or
            ``focal`` (:meth:`.trajectory.VideoCamera.from_image`).
        fov: Horizontal field of view in degrees.
        focal: Focal length in pixels.
        image_size: (W, H) of the video, when neither the track nor its ``index.json`` has it.
        gender: Body-model gender (SMPLest-X predicts for the neutral model).

    Returns:
        The clip.

    Raises:
        TrackFileError: If the file is missing or inconsistent, or the video size is unknown.
    """
    arrays = _read_track(path)
    frame_index = np.asarray(arrays['frame_index'], dtype=np.int64).reshape(-1)
    num = len(frame_index)
    if num == 0:
        raise TrackFileError(f'track file {path} has no frames')
    if np.any(np.diff(frame_index) <= 0):
        raise TrackFileError(f'track file {path}: frame_index is not increasing')
    for key in TRACK_KEYS:
        if len(arrays[key]) != num:
            raise TrackFileError(f'track file {path}: {key} has {len(arrays[key])} rows, '
                                 f'frame_index {num}')
    if camera is None:
        size = image_size or image_size_of_track(path, arrays)
        if size is None:
            raise TrackFileError(f'track file {path} does not say the video size (no '
                                 f'image_size and no ../index.json): pass the image size')
        camera = VideoCamera.from_image(size, fov=fov, focal=focal)
    fps = float(np.asarray(arrays['fps']).reshape(-1)[0])
    fps = fps if np.isfinite(fps) and fps > 0 else DEFAULT_FPS
    betas = np.asarray(arrays['betas'], dtype=np.float64).reshape(num, -1)
    expression = np.asarray(arrays['expression'], dtype=np.float64).reshape(num, -1)
    rig = build_rig(shape_space, betas.mean(axis=0), gender)
    rotvecs = _absolute_rotvecs(arrays, rig.hand_mean)
    rotations = Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix().reshape(
        num, NUM_JOINTS, 3, 3)
    transl = video_frame_transl(
        arrays['transl'], arrays['focal'], arrays['princpt'],
        frame_joints=forward_kinematics(rotations, shape_space.rest_joints(betas, expression),
                                        rig.parents),
        export_joints=forward_kinematics(rotations, rig.joints_at(expression), rig.parents),
        camera=camera)
    frames, observed, rotations, (transl, expression) = _fill_gaps(
        frame_index, rotations, [transl, expression])
    name = osp.splitext(osp.basename(path))[0]
    return MotionClip(rig, camera, fps, frames, observed, rotations, transl, expression, name)
