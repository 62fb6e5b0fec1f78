"""A re-implementation of the official per-sample training pipeline, for benchmarks only.

:class:`OfficialTrainSample` does, for one annotation record, what the official
``HumanDataset.__getitem__`` does in the ``train`` split: deep-copy the record, read the image
as float32 RGB (``load_img``), sample the augmentation (``get_aug_config``), warp the crop
(``generate_patch_image``) and apply the colour gain, convert the crop to a ``(3, H, W)``
tensor in ``[0, 1]``, then ``process_db_coord`` (with the name-based
``transform_joint_to_other_db`` re-indexing) and ``process_human_model_output`` (one SMPL-X
layer forward per sample on CPU, built with ``smplx.create`` like the official
``human_models.SMPLX``), plus the three hand/face box conversions. The box goes through
``process_bbox`` once in :func:`official_record`, as the official ``load_data`` does. This
reproduces the official work and semantics (bugs included) closely enough to time it; it is
not used for training.
"""

import copy
import random
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from smplestx.datasets.utils.bbox import process_bbox
from smplestx.datasets.utils.warp import warp_affine_linear
from smplestx.structures.keypoint import (
    LWRIST_IDX,
    NECK_IDX,
    ROOT_IDX,
    RWRIST_IDX,
    SMPLX_137_FLIP_PAIRS,
    SMPLX_137_FROM_144,
    SMPLX_137_JOINT_NAMES,
    SMPLX_137_PARTS,
    SMPLX_ROT53_FLIP_PAIRS,
    SMPLX_ROT53_PARTS,
)

_INPUT_IMG_SHAPE = (512, 384)
_OUTPUT_HM_SHAPE = (16, 16, 12)
_INPUT_BODY_SHAPE = (256, 192)
_SIZES_3D = dict(body=2.0, hand=0.3, face=0.3)


def official_record(info: dict, bbox_ratio: float = 1.2 * 0.833) -> dict:
    """The official datalist entry of one :class:`~smplestx.datasets.HumanDataset` sample.

    The official ``load_data`` runs ``process_bbox`` once when it builds the datalist, so the
    box is processed here and not per sample.

    Args:
        info: ``HumanDataset.get_data_info(idx)``.
        bbox_ratio: ``process_bbox`` enlargement (``1.2 * 0.833`` for HumanData).

    Returns:
        ``img_path``, ``img_shape``, processed ``bbox``, ``joint_img``/``joint_cam``/``joint_valid``
        and the official ``smplx_param`` names, plus ``cam_param``.
    """
    params, valid = info['smplx_params'], info['smplx_valid']
    kps3d = info.get('keypoints_3d')
    img_h, img_w = info['ann_shape']
    bbox = process_bbox(np.asarray(info['bbox'], np.float64)[:4], img_w, img_h,
                        _INPUT_IMG_SHAPE, bbox_ratio)
    if bbox is None:
        raise ValueError(f'official_record: degenerate box for {info["img_path"]}')
    return dict(
        img_path=info['img_path'], img_shape=info['ann_shape'], bbox=bbox,
        joint_img=np.asarray(info['keypoints_2d'], np.float32),
        joint_cam=None if kps3d is None else np.asarray(kps3d, np.float32),
        joint_valid=np.asarray(info['keypoints_valid'], np.float32).reshape(-1, 1),
        cam_param=dict(info.get('cam_param') or {}),
        smplx_param=dict(
            root_pose=params['global_orient'], body_pose=params['body_pose'],
            shape=params['betas'], trans=params['transl'], lhand_pose=params['left_hand_pose'],
            rhand_pose=params['right_hand_pose'], jaw_pose=params['jaw_pose'],
            expr=params['expression'], lhand_valid=valid['lhand'], rhand_valid=valid['rhand'],
            face_valid=valid['face'], gender=info.get('gender', 'neutral')))


def _affine(cx: float, cy: float, w: float, h: float, scale: float, rot: float,
            inv: bool) -> np.ndarray:
    out_h, out_w = _INPUT_IMG_SHAPE
    rad = np.pi * rot / 180
    sin, cos = np.sin(rad), np.cos(rad)
    center = np.array([cx, cy], np.float32)
    down = np.array([-0.5 * h * scale * sin, 0.5 * h * scale * cos], np.float32)
    right = np.array([0.5 * w * scale * cos, 0.5 * w * scale * sin], np.float32)
    src = np.stack([center, center + down, center + right]).astype(np.float32)
    dst = np.array([[out_w / 2, out_h / 2], [out_w / 2, out_h], [out_w, out_h / 2]], np.float32)
    if inv:
        return cv2.getAffineTransform(dst, src).astype(np.float32)
    return cv2.getAffineTransform(src, dst).astype(np.float32)


def _reindex(values: np.ndarray, src: Sequence[str], dst: Sequence[str]) -> np.ndarray:
    """The official name-matching ``transform_joint_to_other_db``."""
    out = np.zeros((len(dst), ) + values.shape[1:], np.float32)
    for i, name in enumerate(src):
        if name in dst:
            out[dst.index(name)] = values[i]
    return out


def _swap(arr, pairs) -> None:
    for a, b in pairs:
        arr[a], arr[b] = arr[b].copy(), arr[a].copy()


def _part_relative(joints: np.ndarray) -> np.ndarray:
    joints = joints - joints[ROOT_IDX, None]
    for part, anchor in (('lhand', LWRIST_IDX), ('rhand', RWRIST_IDX), ('face', NECK_IDX)):
        rng = SMPLX_137_PARTS[part]
        joints[rng] = joints[rng] - joints[anchor, None]
    return joints


def _rot_mat(rot: float) -> np.ndarray:
    rad = np.deg2rad(-rot)
    return np.array([[np.cos(rad), -np.sin(rad), 0], [np.sin(rad), np.cos(rad), 0], [0, 0, 1]],
                    np.float32)


class OfficialTrainSample:
    """The official ``HumanDataset.__getitem__`` (train split) on :func:`official_record` dicts.

    Args:
        body_model_dir: Folder holding ``smplx/SMPLX_*.npz``.
    """

    def __init__(self, body_model_dir: str) -> None:
        import smplx
        flags = {f'create_{k}': False for k in (
            'global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
            'leye_pose', 'reye_pose', 'betas', 'expression', 'transl')}
        self.layers: Dict[str, torch.nn.Module] = {
            g: smplx.create(body_model_dir, 'smplx', gender=g.upper(), use_pca=False,
                            use_face_contour=True, **flags)
            for g in ('neutral', 'male', 'female')}
        self.names = list(SMPLX_137_JOINT_NAMES)

    def __call__(self, record: dict) -> Tuple[dict, dict, dict]:
        """Return the official ``(inputs, targets, meta_info)`` of one record."""
        data = copy.deepcopy(record)
        img = cv2.imread(data['img_path'], cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if img is None:
            raise OSError(f'OfficialTrainSample: cannot read {data["img_path"]}')
        img = img[:, :, ::-1].copy().astype(np.float32)
        img_h, img_w = data['img_shape']
        bbox = data['bbox']
        scale = np.clip(np.random.randn(), -1.0, 1.0) * 0.25 + 1.0
        rot = np.clip(np.random.randn(), -2.0, 2.0) * 30 if random.random() <= 0.6 else 0
        color = np.array([random.uniform(0.8, 1.2) for _ in range(3)])
        flip = random.random() <= 0.5
        patch, img2bb, _ = self._patch(img, bbox, scale, rot, flip)
        patch = np.clip(patch * color[None, None, :], 0, 255)
        tensor = torch.from_numpy(patch.astype(np.float32).transpose(2, 0, 1).copy()) / 255.

        joint_cam = data['joint_cam']
        dummy = joint_cam is None
        joint_cam = np.zeros((137, 3), np.float32) if dummy else \
            joint_cam - joint_cam[ROOT_IDX, None]
        joint_img = np.concatenate([data['joint_img'][:, :2], joint_cam[:, 2:]], 1)
        if not dummy:
            joint_img[:, 2] = (joint_img[:, 2] / (_SIZES_3D['body'] / 2) + 1) / 2 \
                * _OUTPUT_HM_SHAPE[0]
        joint_img_aug, cam_wo_ra, cam_ra, joint_valid, joint_trunc = self._db_coord(
            joint_img, joint_cam, data['joint_valid'], flip, (img_h, img_w), img2bb, rot)
        smplx_out = self._human_model(data['smplx_param'], data['cam_param'], flip,
                                      (img_h, img_w), img2bb, rot,
                                      None if data['cam_param'] else joint_img)
        _, _, smplx_trunc, pose, shape, expr, pose_valid, smplx_valid, expr_valid, _ = smplx_out
        pose_valid = np.tile(pose_valid[:, None], (1, 9)).reshape(-1)
        smplx_valid = smplx_valid[:, None]
        smplx_trunc = smplx_valid * smplx_trunc
        boxes = [self._part_box(np.zeros(5, np.float32)) for _ in range(3)]
        targets = dict(
            joint_img=np.nan_to_num(joint_img_aug), smplx_joint_img=np.nan_to_num(joint_img_aug),
            joint_cam=np.nan_to_num(cam_wo_ra), smplx_joint_cam=np.nan_to_num(cam_ra),
            smplx_pose=np.nan_to_num(pose), smplx_shape=shape, smplx_expr=expr,
            lhand_root=np.zeros((1, 3)), rhand_root=np.zeros((1, 3)),
            smplx_cam_trans=np.array(data['smplx_param']['trans']))
        meta = dict(
            joint_valid=joint_valid, joint_trunc=joint_trunc,
            smplx_joint_valid=smplx_valid if dummy else joint_valid,
            smplx_joint_trunc=smplx_trunc if dummy else joint_trunc,
            smplx_pose_valid=pose_valid, smplx_shape_valid=float(not (shape == 0).all()),
            smplx_expr_valid=float(expr_valid), is_3D=float(not dummy),
            lhand_bbox_valid=boxes[0][1], rhand_bbox_valid=boxes[1][1],
            face_bbox_valid=boxes[2][1])
        return dict(img=tensor), targets, meta

    @staticmethod
    def _patch(img: np.ndarray, bbox: np.ndarray, scale: float, rot: float,
               flip: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        img = img.copy()
        cx, cy = float(bbox[0] + 0.5 * bbox[2]), float(bbox[1] + 0.5 * bbox[3])
        if flip:
            img = img[:, ::-1, :]
            cx = img.shape[1] - cx - 1
        trans = _affine(cx, cy, float(bbox[2]), float(bbox[3]), scale, rot, inv=False)
        out_h, out_w = _INPUT_IMG_SHAPE
        # The official OpenCV 4.x sampling (what cv2.warpAffine gives there), whatever OpenCV
        # is installed here, so that both pipelines crop identically.
        patch = warp_affine_linear(np.ascontiguousarray(img), trans, (out_w, out_h))
        inv = _affine(cx, cy, float(bbox[2]), float(bbox[3]), scale, rot, inv=True)
        return patch.astype(np.float32), trans, inv

    def _db_coord(self, joint_img: np.ndarray, joint_cam: np.ndarray, joint_valid: np.ndarray,
                  flip: bool, img_shape: Tuple[int, int], img2bb: np.ndarray,
                  rot: float) -> tuple:
        joint_img, joint_cam, joint_valid = joint_img.copy(), joint_cam.copy(), joint_valid.copy()
        if flip:
            joint_cam[:, 0] = -joint_cam[:, 0]
            joint_img[:, 0] = img_shape[1] - 1 - joint_img[:, 0]
            for arr in (joint_img, joint_cam, joint_valid):
                _swap(arr, SMPLX_137_FLIP_PAIRS)
        joint_cam = (_rot_mat(rot) @ joint_cam.T).T
        xy1 = np.concatenate([joint_img[:, :2], np.ones_like(joint_img[:, :1])], 1)
        joint_img[:, :2] = (img2bb @ xy1.T).T
        joint_img[:, 0] = joint_img[:, 0] / _INPUT_IMG_SHAPE[1] * _OUTPUT_HM_SHAPE[2]
        joint_img[:, 1] = joint_img[:, 1] / _INPUT_IMG_SHAPE[0] * _OUTPUT_HM_SHAPE[1]
        inside = ((joint_img[:, 0] >= 0) * (joint_img[:, 0] < _INPUT_BODY_SHAPE[1])
                  * (joint_img[:, 1] >= 0) * (joint_img[:, 1] < _INPUT_BODY_SHAPE[0])
                  * (joint_img[:, 2] >= 0))
        joint_trunc = joint_valid * inside.reshape(-1, 1).astype(np.float32)
        names = self.names
        joint_img = _reindex(joint_img, names, names)
        cam_wo_ra = _reindex(joint_cam, names, names)
        joint_valid = _reindex(joint_valid, names, names)
        joint_trunc = _reindex(joint_trunc, names, names)
        return joint_img, cam_wo_ra, _part_relative(cam_wo_ra.copy()), joint_valid, joint_trunc

    def _human_model(self, param: dict, cam: dict, flip: bool, img_shape: Tuple[int, int],
                     img2bb: np.ndarray, rot: float, joint_img: Optional[np.ndarray]) -> tuple:
        rotation_valid = np.ones(53, np.float32)
        coord_valid = np.ones(137, np.float32)
        body_pose = param['body_pose']
        if body_pose is None or (np.asarray(body_pose) == 0).all():
            rotation_valid[SMPLX_ROT53_PARTS['body']] = 0
            coord_valid[SMPLX_137_PARTS['body']] = 0
        hands = {}
        for side in ('lhand', 'rhand'):
            if param.get(f'{side}_valid'):
                hands[side] = param[f'{side}_pose']
            else:
                hands[side] = np.zeros(45, np.float32)
                rotation_valid[SMPLX_ROT53_PARTS[side]] = 0
                coord_valid[SMPLX_137_PARTS[side]] = 0
        if param.get('face_valid'):
            jaw, expr, expr_valid = param['jaw_pose'], param['expr'], True
        else:
            jaw, expr, expr_valid = np.zeros(3, np.float32), np.zeros(10, np.float32), False
        root = torch.FloatTensor(param['root_pose']).view(1, 3)
        body = torch.FloatTensor(body_pose).view(-1, 3)
        lhand = torch.FloatTensor(hands['lhand']).view(-1, 3)
        rhand = torch.FloatTensor(hands['rhand']).view(-1, 3)
        jaw = torch.FloatTensor(jaw).view(-1, 3)
        shape = torch.FloatTensor(param['shape']).view(1, -1)
        expr = torch.FloatTensor(expr).view(1, -1)
        trans = torch.FloatTensor(param['trans']).view(1, -1)
        if 'R' in cam:
            rmat = np.asarray(cam['R'], np.float32).reshape(3, 3)
            vec, _ = cv2.Rodrigues(rmat @ cv2.Rodrigues(root.numpy())[0])
            root = torch.from_numpy(vec).view(1, 3)
        zero = torch.zeros((1, 3))
        with torch.no_grad():
            out = self.layers[param.get('gender', 'neutral')](
                betas=shape, body_pose=body.view(1, -1), global_orient=root, transl=trans,
                left_hand_pose=lhand.view(1, -1), right_hand_pose=rhand.view(1, -1),
                jaw_pose=jaw.view(1, -1), leye_pose=zero, reye_pose=zero, expression=expr)
        mesh = out.vertices[0].numpy()
        joint_cam = out.joints[0].numpy()[list(SMPLX_137_FROM_144)]
        if 'R' in cam and 't' in cam:
            rmat = np.asarray(cam['R'], np.float32).reshape(3, 3)
            root_cam = joint_cam[ROOT_IDX, None]
            shift = -root_cam + (rmat @ root_cam.T).T + np.asarray(cam['t'], np.float32)
            joint_cam, mesh = joint_cam + shift, mesh + shift
        pose = torch.cat((root, body, lhand, rhand, jaw))
        if 'focal' in cam and 'princpt' in cam:
            f, c = np.asarray(cam['focal']).reshape(2), np.asarray(cam['princpt']).reshape(2)
            joint_img = np.stack([joint_cam[:, 0] / joint_cam[:, 2] * f[0] + c[0],
                                  joint_cam[:, 1] / joint_cam[:, 2] * f[1] + c[1],
                                  joint_cam[:, 2]], 1)
        original = joint_img.copy()
        joint_cam = _part_relative(joint_cam)
        for part, size in (('body', 'body'), ('lhand', 'hand'), ('rhand', 'hand'),
                           ('face', 'face')):
            rng = SMPLX_137_PARTS[part]
            joint_img[rng, 2] = (joint_cam[rng, 2] / (_SIZES_3D[size] / 2) + 1) / 2 \
                * _OUTPUT_HM_SHAPE[0]
        if flip:
            joint_cam[:, 0] = -joint_cam[:, 0]
            joint_img[:, 0] = img_shape[1] - 1 - joint_img[:, 0]
            for arr in (joint_cam, joint_img, coord_valid):
                _swap(arr, SMPLX_137_FLIP_PAIRS)
        xy1 = np.concatenate([joint_img[:, :2], np.ones_like(joint_img[:, :1])], 1)
        joint_img[:, :2] = (img2bb @ xy1.T).T[:, :2]
        joint_img[:, 0] = joint_img[:, 0] / _INPUT_IMG_SHAPE[1] * _OUTPUT_HM_SHAPE[2]
        joint_img[:, 1] = joint_img[:, 1] / _INPUT_IMG_SHAPE[0] * _OUTPUT_HM_SHAPE[1]
        hm_d, hm_h, hm_w = _OUTPUT_HM_SHAPE
        trunc = ((original[:, 0] > 0) * (joint_img[:, 0] >= 0) * (joint_img[:, 0] < hm_w)
                 * (original[:, 1] > 0) * (joint_img[:, 1] >= 0) * (joint_img[:, 1] < hm_h)
                 * (original[:, 2] > 0) * (joint_img[:, 2] >= 0) * (joint_img[:, 2] < hm_d))
        rot_mat = _rot_mat(rot)
        joint_cam = (rot_mat @ joint_cam.T).T
        if flip:
            for a, b in SMPLX_ROT53_FLIP_PAIRS:
                pose[a], pose[b] = pose[b].clone(), pose[a].clone()
                rotation_valid[a], rotation_valid[b] = rotation_valid[b], rotation_valid[a]
            pose[:, 1:3] *= -1
        pose = pose.numpy()
        vec, _ = cv2.Rodrigues(rot_mat @ cv2.Rodrigues(pose[ROOT_IDX])[0])
        pose[ROOT_IDX] = vec.reshape(3)
        shape[(shape.abs() > 3).any(dim=1)] = 0.
        return (joint_img, joint_cam, trunc.reshape(-1, 1).astype(np.float32), pose.reshape(-1),
                shape.numpy().reshape(-1), expr.numpy().reshape(-1), rotation_valid,
                coord_valid, expr_valid, mesh.copy())

    @staticmethod
    def _part_box(box: np.ndarray) -> Tuple[np.ndarray, float]:
        """The official ``process_hand_face_bbox`` for an invalid box (zeros, not valid)."""
        if box[-1] <= 0:
            return np.zeros((2, 2), np.float32), 0.0
        raise NotImplementedError('OfficialTrainSample: valid part boxes are not timed')
