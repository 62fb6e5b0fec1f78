"""A synthetic tracked person: a known SMPL-X motion seen through crops of changing size.

:func:`synthetic_track` makes what the demo would write for one tracked person
(``tracks/track_<id>.npz``) when an ideal network watches a known motion: the person walks
in front of a fixed video camera, each frame's person box is the bounding box of the
projected mesh times a per-frame factor (so the box size can jump), processed like the
demo's (aspect 0.75, enlarged 1.2x), and the predicted ``transl`` is the one that best
reprojects the frame's 22 body joints in that crop's virtual camera (pixel least squares). The
ground truth (the pelvis in the video camera) comes back with it.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from smplestx.datasets.utils.bbox import process_bbox, virtual_camera

#: A right-handed rotation turning SMPL-X's y-up model upright in an OpenCV (y-down) camera.
UPRIGHT_IN_CAMERA = np.diag([1.0, -1.0, -1.0])


def synthetic_params(num_frames: int, seed: int = 0, hands: float = 0.3,
                     expression: float = 1.0, betas_noise: float = 0.0) -> Dict[str, np.ndarray]:
    """Smooth SMPL-X parameters of a walking-like motion (``smplx`` naming, float32).

    The root turns slowly about the vertical axis and is upright in an OpenCV camera; the
    arms hang (A-pose) and every body joint swings sinusoidally; fingers, jaw and expression
    vary; the betas are fixed, plus per-frame Gaussian noise of ``betas_noise`` (as
    per-frame predictions have).
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, num_frames)[:, None]
    yaw = Rotation.from_rotvec(np.outer(0.6 * t[:, 0] - 0.3, [0.0, 1.0, 0.0]))
    root = (Rotation.from_matrix(UPRIGHT_IN_CAMERA[None].repeat(num_frames, 0)) * yaw)

    def wave(size: int, amplitude: float) -> np.ndarray:
        phase = rng.uniform(0, 2 * np.pi, size)
        freq = rng.uniform(0.5, 1.5, size)
        return amplitude * rng.uniform(0.3, 1.0, size) * np.sin(2 * np.pi * freq * t + phase)

    betas = rng.normal(0.0, 0.8, 10)
    body_pose = wave(63, 0.3)
    body_pose[:, 15 * 3 + 2] -= 1.1  # left shoulder: arm lowered from the T-pose
    body_pose[:, 16 * 3 + 2] += 1.1  # right shoulder
    params = {
        'global_orient': root.as_rotvec(),
        'body_pose': body_pose,
        'left_hand_pose': wave(45, hands),
        'right_hand_pose': wave(45, hands),
        'jaw_pose': np.abs(wave(3, 0.25)) * [1.0, 0.1, 0.1],
        'leye_pose': np.zeros((num_frames, 3)),
        'reye_pose': np.zeros((num_frames, 3)),
        'betas': betas + rng.normal(0.0, betas_noise, (num_frames, 10)),
        'expression': wave(10, expression),
    }
    return {k: v.astype(np.float32) for k, v in params.items()}


def _fit_transl(points: np.ndarray, pixels: np.ndarray, focal: np.ndarray,
                princpt: np.ndarray) -> np.ndarray:
    """Translation minimising the pixel reprojection error of ``points`` (Gauss-Newton)."""
    from scipy.optimize import least_squares

    def residual(t: np.ndarray) -> np.ndarray:
        moved = points + t
        return (focal * moved[:, :2] / moved[:, 2:] + princpt - pixels).reshape(-1)

    start = np.array([0.0, 0.0, focal[0] / 200.0])
    return least_squares(residual, start, xtol=1e-12, ftol=1e-12).x


def synthetic_track(body_model_dir: str, num_frames: int = 12,
                    image_size: Tuple[int, int] = (640, 480), video_focal: float = 700.0,
                    box_scale: Optional[Sequence[float]] = None, fps: float = 25.0,
                    seed: int = 0, frame_index: Optional[Sequence[int]] = None,
                    betas_noise: float = 0.0
                    ) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """A demo-style track of a known motion, and its ground truth.

    Args:
        body_model_dir: SMPL-X folder.
        num_frames: Number of frames.
        image_size: (W, H) of the video.
        video_focal: Focal length (pixels) of the video camera; principal point at the centre.
        box_scale: Per-frame factor on the person box (default: 1.0, then 1.4 from the middle
            frame on: a box-size jump).
        fps: Frame rate stored in the track.
        seed: Motion seed.
        frame_index: Video frame numbers (default ``0 .. num_frames - 1``).
        betas_noise: Per-frame noise on the betas (:func:`synthetic_params`).

    Returns:
        ``(track, truth)``: the track arrays as ``ResultWriter.write_tracks`` stores them
        (plus ``image_size`` (H, W)), and ``pelvis`` (T, 3), ``transl`` (T, 3) in the video
        camera (OpenCV axes) with the per-frame betas, and ``box_scale``.
    """
    from smplestx.models.body_models import SMPLXBodyModel

    width, height = image_size
    if box_scale is None:
        box_scale = [1.0] * (num_frames // 2) + [1.4] * (num_frames - num_frames // 2)
    box_scale = np.asarray(box_scale, dtype=np.float64)
    params = synthetic_params(num_frames, seed, betas_noise=betas_noise)
    layer = SMPLXBodyModel(body_model_dir).smplx_layer
    with torch.no_grad():
        out = layer(**{k: torch.from_numpy(v) for k, v in params.items()})
    joints = out.joints[:, :55].double().numpy()
    vertices = out.vertices.double().numpy()
    s = np.linspace(0.0, 1.0, num_frames)[:, None]
    pelvis = np.concatenate([-0.6 + 1.2 * s, 0.25 + 0.05 * np.sin(6 * s), 5.0 - 1.5 * s], 1)
    transl = pelvis - joints[:, 0]
    principal = np.array([width / 2.0, height / 2.0])

    def project(points: np.ndarray, focal, centre) -> np.ndarray:
        return np.asarray(focal) * points[:, :2] / points[:, 2:] + centre

    keys = ('focal', 'princpt', 'bbox', 'transl')
    track = {k: [] for k in keys}
    for i in range(num_frames):
        seen = project(vertices[i] + transl[i], video_focal, principal)
        lo, hi = seen.min(0), seen.max(0)
        centre, size = (lo + hi) / 2, (hi - lo) * box_scale[i]
        box = np.concatenate([centre - size / 2, centre + size / 2])
        crop = process_bbox(np.concatenate([box[:2], size]), width, height, ratio=1.2)
        focal, princpt = virtual_camera(crop)
        pixels = project(joints[i, :22] + transl[i], video_focal, principal)
        track['transl'].append(_fit_transl(joints[i, :22], pixels, focal, princpt))
        track['focal'].append(focal)
        track['princpt'].append(princpt)
        track['bbox'].append(box)
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in track.items()}
    arrays.update(params)
    arrays['score'] = np.ones(num_frames, dtype=np.float32)
    arrays['frame_index'] = np.asarray(
        range(num_frames) if frame_index is None else frame_index, dtype=np.int64)
    arrays['fps'] = np.asarray(fps, dtype=np.float32)
    arrays['image_size'] = np.asarray([height, width], dtype=np.int64)
    truth = {'pelvis': pelvis, 'transl': transl, 'box_scale': box_scale}
    return arrays, truth
