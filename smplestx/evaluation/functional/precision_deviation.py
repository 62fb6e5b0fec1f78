"""How far a low-precision model's outputs are from fp32 at equal weights, on real crops.

Used by ``tools/analysis_tools/benchmark_model.py --precision`` and by the checkpoint
converter's ``--dtype``. The crops come from the bundled photo and video (``demo/``), cut
the way the demo cuts them, so the inputs look like real people rather than noise.
"""

import os.path as osp
from typing import Dict, List, Mapping, Optional

import cv2
import numpy as np
import torch

from smplestx.models.utils.rotation import batch_rodrigues

#: The bundled sample photo and video, relative to the repository root.
DEMO_MEDIA = ('demo/astronaut.jpg', 'demo/astronaut_pan.mp4')
#: Boxes (fractions of the photo: x, y, w, h) around the person and its parts.
_PHOTO_BOXES = ((0.0, 0.0, 1.0, 1.0), (0.15, 0.05, 0.7, 0.9), (0.25, 0.0, 0.5, 0.6),
                (0.1, 0.3, 0.8, 0.7))
#: Pose outputs of the ``tensor`` mode compared by their rotation angle.
POSE_KEYS = ('smplx_root_pose', 'smplx_body_pose', 'smplx_lhand_pose', 'smplx_rhand_pose',
             'smplx_jaw_pose')


def _video_frames(path: str, count: int) -> List[np.ndarray]:
    """``count`` RGB frames spread evenly over a video."""
    capture = cv2.VideoCapture(path)
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or count
        frames = []
        for index in np.linspace(0, max(total - 1, 0), count).round().astype(int):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, frame = capture.read()
            if ok:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return frames
    finally:
        capture.release()


def demo_crops(count: int, root: Optional[str] = None) -> torch.Tensor:
    """(count, 3, 512, 384) uint8 crops of the bundled photo and video, as the demo cuts them.

    Half come from boxes on the photo, half from frames spread over the video (whole-frame
    boxes); the list repeats when more are asked for.

    Args:
        count: Number of crops.
        root: Repository root holding ``demo/`` (default: the one of this package).

    Raises:
        FileNotFoundError: If the photo or the video is missing.
    """
    from smplestx.datasets.transforms import AffineCrop, GetBBox
    from smplestx.datasets.utils.image_io import imread_rgb

    root = root or osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    photo_path, video_path = (osp.join(root, p) for p in DEMO_MEDIA)
    for path in (photo_path, video_path):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} does not exist (the bundled demo media)')
    photo = imread_rgb(photo_path)
    height, width = photo.shape[:2]
    items = [(photo, (x * width, y * height, w * width, h * height))
             for x, y, w, h in _PHOTO_BOXES]
    items += [(frame, (0.0, 0.0, frame.shape[1], frame.shape[0]))
              for frame in _video_frames(video_path, max(1, count - len(items)))]
    get_bbox, crop = GetBBox(ratio=1.2), AffineCrop()
    crops = []
    for i in range(count):
        image, box = items[i % len(items)]
        results = crop(get_bbox(dict(img=image, bbox=list(box), ori_shape=image.shape[:2])))
        crops.append(torch.from_numpy(results['img'].round().clip(0, 255).astype(np.uint8))
                     .permute(2, 0, 1))
    return torch.stack(crops)


def rotation_angle_deg(aa_a: torch.Tensor, aa_b: torch.Tensor) -> torch.Tensor:
    """Angle (degrees) of the rotation between two sets of axis-angle vectors (..., 3).

    Geodesic, so that equal rotations with different axis-angle representations (angles
    near 180 degrees) count as equal.
    """
    rot_a = batch_rodrigues(aa_a.reshape(-1, 3).double())
    rot_b = batch_rodrigues(aa_b.reshape(-1, 3).double())
    cos = ((rot_a.transpose(1, 2) @ rot_b).diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2
    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def output_deviation(reference: Mapping[str, torch.Tensor],
                     output: Mapping[str, torch.Tensor]) -> Dict[str, float]:
    """Deviation of ``output`` from ``reference`` (both ``tensor``-mode output dicts).

    Returns:
        ``vertex_max_mm``/``vertex_mean_mm``: per-vertex distance of the root-relative
        meshes (pose and shape, as PVE); ``joint_max_mm``/``joint_mean_mm``: the
        pelvis-relative joints (``smplx_joint_cam``); ``rotation_max_deg``: the largest
        rotation angle between the two poses of any joint (root, body, hands, jaw);
        ``transl_max_mm``: the camera translation (its depth is the most sensitive).
    """
    def mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.double() - b.double()).norm(dim=-1) * 1000

    def root_relative(out: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return out['smplx_mesh_cam'] - out['cam_trans'][:, None, :]

    vertex = mm(root_relative(output), root_relative(reference))
    joint = mm(output['smplx_joint_cam'], reference['smplx_joint_cam'])
    angles = torch.cat([rotation_angle_deg(output[k], reference[k]) for k in POSE_KEYS])
    return dict(vertex_max_mm=float(vertex.max()), vertex_mean_mm=float(vertex.mean()),
                joint_max_mm=float(joint.max()), joint_mean_mm=float(joint.mean()),
                rotation_max_deg=float(angles.max()),
                transl_max_mm=float(mm(output['cam_trans'], reference['cam_trans']).max()))


def format_deviation(dev: Mapping[str, float]) -> str:
    """One line: ``vertex max/mean .. mm, joints max/mean .. mm, rotation max .. deg, ...``."""
    return (f'vertices max {dev["vertex_max_mm"]:.2f} / mean {dev["vertex_mean_mm"]:.2f} mm, '
            f'joints max {dev["joint_max_mm"]:.2f} / mean {dev["joint_mean_mm"]:.2f} mm, '
            f'rotation max {dev["rotation_max_deg"]:.2f} deg, '
            f'translation max {dev["transl_max_mm"]:.1f} mm')
