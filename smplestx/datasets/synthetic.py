"""A small synthetic HumanData set drawn from a SMPL-X body model (tests, CI, README demos).

Random SMPL-X parameters are posed with :class:`~smplestx.models.body_models.SMPLXBodyModel`
(``flat_hand_mean=False``, the SMPLest-X convention), placed in front of a pinhole camera and
drawn with OpenCV as flat-shaded filled triangles (painter's order, back faces culled) on a
noisy background. The annotation holds everything :class:`~smplestx.datasets.HumanDataset`
reads: ``image_path``, ``bbox_xywh`` (1.2-padded around the 2D keypoints, as mmhuman3d
does), ``keypoints2d``/``keypoints3d`` in the 144-joint SMPL-X layer order with masks, the
``smplx`` parameters, ``meta`` (image size, gender, intrinsics) and
``__keypoints_compressed__``. The output is deterministic for a given seed and body model.
"""

import os
import os.path as osp
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import torch

_PARAM_SHAPES = dict(body_pose=(21, 3), left_hand_pose=(15, 3), right_hand_pose=(15, 3),
                     jaw_pose=(3, ), betas=(10, ), expression=(10, ))


def _axis_angle(rotmat: np.ndarray) -> np.ndarray:
    vec, _ = cv2.Rodrigues(rotmat.astype(np.float64))
    return vec.reshape(3)


def _rot(axis: str, deg: float) -> np.ndarray:
    vec = np.zeros(3)
    vec['xyz'.index(axis)] = np.deg2rad(deg)
    mat, _ = cv2.Rodrigues(vec)
    return mat


def random_smplx_params(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Plausible random SMPL-X parameters (camera frame: y down, person facing the camera).

    Args:
        rng: The random generator.

    Returns:
        ``smplx``-named float32 arrays without batch dimension (no ``transl``).
    """
    root = _rot('y', rng.uniform(-50, 50)) @ _rot('x', 180 + rng.uniform(-10, 10)) \
        @ _rot('z', rng.uniform(-8, 8))
    params = dict(
        global_orient=_axis_angle(root),
        body_pose=rng.normal(0, 0.15, (21, 3)),
        left_hand_pose=rng.normal(0, 0.25, (15, 3)),
        right_hand_pose=rng.normal(0, 0.25, (15, 3)),
        jaw_pose=np.array([rng.uniform(0, 0.3), 0, 0]),
        betas=np.clip(rng.normal(0, 1, 10), -2.5, 2.5),
        expression=rng.normal(0, 0.5, 10))
    params['body_pose'][15] += [0, 0, -1.0]  # arms away from the body (L/R shoulders)
    params['body_pose'][16] += [0, 0, 1.0]
    return {k: np.asarray(v, np.float32) for k, v in params.items()}


def draw_mesh(img: np.ndarray, vertices: np.ndarray, faces: np.ndarray, focal: np.ndarray,
              princpt: np.ndarray, color: Tuple[int, int, int]) -> np.ndarray:
    """Draw camera-frame triangles as flat-shaded polygons (painter's algorithm).

    Args:
        img: ``(H, W, 3)`` uint8 RGB canvas, drawn on in place.
        vertices: ``(V, 3)`` camera-frame vertices (z > 0 in front).
        faces: ``(F, 3)`` triangles, outward oriented.
        focal: ``(fx, fy)``.
        princpt: ``(cx, cy)``.
        color: Base RGB colour.

    Returns:
        The canvas.
    """
    verts = vertices.astype(np.float64)
    uv = verts[:, :2] / verts[:, 2:3] * focal + princpt
    tri = verts[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    centers = tri.mean(axis=1)
    facing = (normals * centers).sum(axis=1) < 0
    order = np.argsort(-centers[:, 2])
    order = order[facing[order] & (centers[order, 2] > 0)]
    shade = 0.35 + 0.65 * np.abs(normals[:, 2])
    pts = np.round(uv[faces] * 16).astype(np.int32)
    base = np.asarray(color, np.float64)
    for face in order:
        col = tuple(int(c) for c in np.clip(base * shade[face], 0, 255))
        cv2.fillConvexPoly(img, pts[face], col, lineType=cv2.LINE_AA, shift=4)
    return img


def padded_bbox(points: np.ndarray, scale: float = 1.2) -> np.ndarray:
    """``[x, y, w, h]`` of the points' extent, scaled about its centre."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    center, size = (lo + hi) / 2, (hi - lo) * scale
    return np.concatenate([center - size / 2, size]).astype(np.float32)


def make_synthetic_humandata(body_model_dir: Optional[str], out_dir: str, num: int = 8,
                             img_size: Tuple[int, int] = (256, 256), seed: int = 0,
                             name: str = 'synthetic_humandata') -> str:
    """Render ``num`` images and write their HumanData annotation.

    Args:
        body_model_dir: SMPL-X folder (``None`` uses ``$SMPLESTX_BODY_MODELS``).
        out_dir: Output folder; images go to ``out_dir/images``.
        num: Number of samples.
        img_size: Image size ``(H, W)``.
        seed: Random seed (same seed, same files).
        name: Annotation file stem.

    Returns:
        Path of the written ``.npz``.
    """
    from smplestx.models.body_models import SMPLXBodyModel

    rng = np.random.default_rng(seed)
    height, width = img_size
    model = SMPLXBodyModel(body_model_dir, gender='neutral')
    faces = model.faces
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    focal = np.array([1.3 * max(height, width)] * 2, np.float32)
    princpt = np.array([width / 2, height / 2], np.float32)
    records: Dict[str, list] = {k: [] for k in ('image_path', 'bbox', 'kps2d', 'kps3d')}
    params_all: Dict[str, list] = {}
    for idx in range(num):
        params = random_smplx_params(rng)
        tensors = {k: torch.from_numpy(v)[None] for k, v in params.items()}
        with torch.no_grad():
            out = model(**tensors)
        verts = out['vertices'][0].numpy()
        mid = (verts.min(axis=0) + verts.max(axis=0)) / 2
        extent = float(np.max((verts.max(axis=0) - verts.min(axis=0))[:2]))
        depth = float(focal[0]) * extent / (rng.uniform(0.6, 0.8) * min(height, width))
        shift = rng.uniform(-0.05, 0.05, 2) * extent
        transl = np.array([-mid[0] + shift[0], -mid[1] + shift[1], depth - mid[2]], np.float32)
        params['transl'] = transl
        verts = verts + transl
        joints = out['joints'][0].numpy() + transl
        kps2d = joints[:, :2] / joints[:, 2:3] * focal + princpt
        img = rng.integers(60, 180, (height, width, 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (0, 0), 3)
        color = tuple(int(c) for c in rng.integers(150, 256, 3))
        draw_mesh(img, verts, faces, focal, princpt, color)
        rel = f'images/{idx:06d}.jpg'
        cv2.imwrite(osp.join(out_dir, rel), img[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        records['image_path'].append(rel)
        records['bbox'].append(np.append(padded_bbox(kps2d), 1.0))
        records['kps2d'].append(np.concatenate([kps2d, np.ones((len(kps2d), 1))], axis=1))
        records['kps3d'].append(np.concatenate([joints, np.ones((len(joints), 1))], axis=1))
        for key, value in params.items():
            params_all.setdefault(key, []).append(value)
    num_kps = records['kps2d'][0].shape[0]
    smplx_dict = {k: np.stack(v).astype(np.float32) for k, v in params_all.items()}
    smplx_dict['leye_pose'] = np.zeros((num, 3), np.float32)
    smplx_dict['reye_pose'] = np.zeros((num, 3), np.float32)
    meta = dict(height=np.full(num, height), width=np.full(num, width),
                gender=['neutral'] * num, focal_length=np.tile(focal, (num, 1)),
                principal_point=np.tile(princpt, (num, 1)))
    path = osp.join(out_dir, f'{name}.npz')
    np.savez_compressed(
        path, image_path=np.array(records['image_path']),
        bbox_xywh=np.stack(records['bbox']).astype(np.float32),
        keypoints2d=np.stack(records['kps2d']).astype(np.float32),
        keypoints2d_mask=np.ones(num_kps, np.float32),
        keypoints3d=np.stack(records['kps3d']).astype(np.float32),
        keypoints3d_mask=np.ones(num_kps, np.float32),
        smplx=smplx_dict, meta=meta, config=np.array('synthetic'),
        __keypoints_compressed__=np.array(False))
    return path
