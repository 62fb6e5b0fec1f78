"""Ground-truth targets and validity masks of one crop (official ``HumanDataset.__getitem__``).

:class:`GenerateSMPLXTargets` reproduces the official training targets (§5.6) and test
ground truth (§5.7): keypoint targets in heatmap units and camera space
(``process_db_coord``), and SMPL-X parameter targets, validity masks and the ground-truth
mesh from the SMPL-X layer (``process_human_model_output``), under the sampled flip and
rotation.

Official bugs fixed here (each listed with the switch that restores it, if any):

* **Truncation bounds** (``official_trunc_bounds``). ``process_db_coord`` compares
  heatmap-unit coordinates (12x16) with the body-input pixel size (192x256), so joints
  outside the crop are almost never marked truncated. Here the bounds are the heatmap size.
* **Truncation after a flip.** ``process_human_model_output`` tests ``x > 0`` etc. on the
  *unflipped, unswapped* coordinates, so after a flip each joint is tested with its mirror
  partner's original position. Here the test follows the joint.
* **Hand roots under augmentation** (``official_hand_root``). The MANO hand orientations
  (``lhand_root``/``rhand_root``, used by the hand-only branch of the hand-root loss) are
  neither mirrored nor rotated by the official pipeline. Here a flip swaps them and negates
  their y/z components, and the rotation augmentation is applied as for the body root.
* **SMPL camera rotation.** For SMPL ground truth with a camera rotation the official code
  looks the root up as ``pose[0]`` of the body pose, which has no root (for HumanData's flat
  (1, 69) body pose ``cv2.Rodrigues`` then fails). Ours turns the global orientation.
* **NaNs.** Remaining NaNs in the targets are zeroed *and* marked invalid: the joints,
  the pose rotations, the expression and the shape (the official code zeroes the keypoint
  and pose targets but keeps them valid, and leaves NaN shapes and expressions as they are).
* **Dtypes.** Every target is float32 (the official scalars collate to float64).

Unchanged official behaviours worth knowing: the shape target is zeroed when any
``|beta| > 3`` (after the mesh is computed); the translation target ``smplx_cam_trans`` is
not mirrored; hand and face boxes are not produced (SMPLest-X has no box loss).
"""

from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from smplestx.datasets.utils.affine import affine_points
from smplestx.datasets.utils.flip import flip_axis_angle, swap_pairs
from smplestx.registry import TRANSFORMS
from smplestx.structures.keypoint import (
    LWRIST_IDX,
    NECK_IDX,
    ROOT_IDX,
    RWRIST_IDX,
    SMPLX_137_FLIP_PAIRS,
    SMPLX_137_FROM_144,
    SMPLX_137_PARTS,
    SMPLX_ROT53_FLIP_PAIRS,
    SMPLX_ROT53_PARTS,
)

_POSE_KEYS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose')
_NUM_JOINTS = 137


def rotation_about_z(deg: float) -> np.ndarray:
    """The 3D rotation the official code applies for an in-plane augmentation of ``deg``."""
    rad = np.deg2rad(-deg)
    return np.array([[np.cos(rad), -np.sin(rad), 0], [np.sin(rad), np.cos(rad), 0],
                     [0, 0, 1]], dtype=np.float32)


def rotate_axis_angle(rotation: np.ndarray, axis_angle: np.ndarray) -> np.ndarray:
    """Left-multiply the rotation of an axis-angle vector by ``rotation`` (via Rodrigues)."""
    mat, _ = cv2.Rodrigues(np.asarray(axis_angle, np.float64).reshape(3))
    vec, _ = cv2.Rodrigues(np.asarray(rotation, np.float64) @ mat)
    return vec.reshape(3).astype(np.float32)


def part_relative(joints: np.ndarray) -> np.ndarray:
    """Hands relative to their wrists and the face relative to the neck (137 joints)."""
    out = np.array(joints, copy=True)
    for part, anchor in (('lhand', LWRIST_IDX), ('rhand', RWRIST_IDX), ('face', NECK_IDX)):
        rng = SMPLX_137_PARTS[part]
        out[rng.start:rng.stop] -= out[anchor]
    return out


def undo_part_relative(joints: np.ndarray) -> np.ndarray:
    """Inverse of :func:`part_relative` for pelvis-relative joints."""
    out = np.array(joints, copy=True)
    for part, anchor in (('lhand', LWRIST_IDX), ('rhand', RWRIST_IDX), ('face', NECK_IDX)):
        rng = SMPLX_137_PARTS[part]
        out[rng.start:rng.stop] += out[anchor]
    return out


def to_heatmap_units(points: np.ndarray, input_img_shape: Tuple[int, int],
                     output_hm_shape: Tuple[int, int, int]) -> np.ndarray:
    """Crop pixels ``(..., 2)`` to heatmap units (x in [0, W_hm), y in [0, H_hm))."""
    out = np.array(points, dtype=np.float32, copy=True)
    out[..., 0] = out[..., 0] / input_img_shape[1] * output_hm_shape[2]
    out[..., 1] = out[..., 1] / input_img_shape[0] * output_hm_shape[1]
    return out


class SMPLXJointsOnly:
    """The 144 SMPL-X layer joints without posing the whole mesh (training targets).

    Training needs only the joints of the ground-truth parameters: the 55 LBS joints, the
    vertex-picked joints and the face landmarks. The LBS joints come from the shape blend
    shapes pre-multiplied by the joint regressor, and only the few hundred vertices that the
    picked joints and the (static and dynamic) landmarks read are skinned, so the result equals
    ``smplx.SMPLX.forward(...).joints`` up to float rounding at a fraction of its cost.

    Args:
        layer: A ``smplx.SMPLX`` layer (``use_face_contour=True``).
    """

    def __init__(self, layer: torch.nn.Module) -> None:
        from smplx.lbs import (
            batch_rigid_transform,
            batch_rodrigues,
            find_dynamic_lmk_idx_and_bcoords,
        )
        self._rodrigues = batch_rodrigues
        self._rigid = batch_rigid_transform
        self._dynamic = find_dynamic_lmk_idx_and_bcoords
        faces = layer.faces_tensor.long()
        extra = layer.vertex_joint_selector.extra_joints_idxs.long()
        used = torch.unique(torch.cat([extra, faces[layer.lmk_faces_idx.long()].reshape(-1),
                                       faces[layer.dynamic_lmk_faces_idx.long()].reshape(-1)]))
        num_verts = layer.v_template.shape[0]
        remap = torch.full((num_verts, ), -1, dtype=torch.long)
        remap[used] = torch.arange(len(used))
        shapedirs = torch.cat([layer.shapedirs, layer.expr_dirs], dim=-1)
        regressor = layer.J_regressor
        self.j_template = regressor @ layer.v_template
        self.j_shapedirs = torch.einsum('jv,vkl->jkl', regressor, shapedirs)
        self.v_template = layer.v_template[used]
        self.shapedirs = shapedirs[used]
        self.posedirs = layer.posedirs.view(layer.posedirs.shape[0], num_verts, 3)[:, used] \
            .reshape(layer.posedirs.shape[0], -1)
        self.weights = layer.lbs_weights[used]
        self.parents = layer.parents
        self.pose_mean = layer.pose_mean
        self.extra = remap[extra]
        self.faces = remap[faces]
        self.lmk_faces_idx = layer.lmk_faces_idx.long()
        self.lmk_bary = layer.lmk_bary_coords
        self.dyn_faces_idx = layer.dynamic_lmk_faces_idx
        self.dyn_bary = layer.dynamic_lmk_bary_coords
        self.neck_kin_chain = layer.neck_kin_chain

    @torch.no_grad()
    def __call__(self, pose: Dict[str, np.ndarray], betas: np.ndarray, expr: np.ndarray,
                 transl: np.ndarray) -> np.ndarray:
        """The (144, 3) joints of one parameter set (axis-angle, zero eye poses)."""
        parts = [pose['global_orient'], pose['body_pose'], pose['jaw_pose'],
                 np.zeros((2, 3), np.float32), pose['left_hand_pose'], pose['right_hand_pose']]
        full_pose = torch.from_numpy(np.concatenate([np.reshape(p, (-1, 3)) for p in parts])
                                     .reshape(1, -1).astype(np.float32)) + self.pose_mean
        comps = torch.from_numpy(np.concatenate([betas, expr]).astype(np.float32))
        v_shaped = self.v_template + self.shapedirs @ comps
        joints = (self.j_template + self.j_shapedirs @ comps)[None]
        rot_mats = self._rodrigues(full_pose.view(-1, 3)).view(1, -1, 3, 3)
        pose_feature = (rot_mats[:, 1:] - torch.eye(3)).view(1, -1)
        v_posed = v_shaped + (pose_feature @ self.posedirs).view(-1, 3)
        joints, rel = self._rigid(rot_mats, joints, self.parents)
        trans = (self.weights @ rel.view(-1, 16)).view(-1, 4, 4)
        verts = (trans[:, :3, :3] @ v_posed[..., None])[..., 0] + trans[:, :3, 3]
        dyn_idx, dyn_bary = self._dynamic(verts[None], full_pose, self.dyn_faces_idx,
                                          self.dyn_bary, self.neck_kin_chain, pose2rot=True)
        lmk_idx = torch.cat([self.lmk_faces_idx, dyn_idx[0].long()])
        bary = torch.cat([self.lmk_bary, dyn_bary[0]])
        landmarks = (verts[self.faces[lmk_idx]] * bary[..., None]).sum(1)
        out = torch.cat([joints[0], verts[self.extra], landmarks])
        return (out + torch.from_numpy(np.asarray(transl, np.float32).reshape(1, 3))).numpy()


@TRANSFORMS.register_module()
class GenerateSMPLXTargets(BaseTransform):
    """Build the SMPLest-X ground truth of a crop into ``results['gt_instances']``.

    Run after :class:`AffineCrop` (which already mirrored and warped the keypoints). The
    SMPL-X layer (gendered when the sample says so) is built lazily in each worker from
    ``body_model_dir``. Without ``with_mesh`` only the joints are computed
    (:class:`SMPLXJointsOnly`), which is several times cheaper than the full forward.

    Required keys: ``keypoints_2d`` (crop pixels), ``keypoints_valid``, ``smplx_params``,
    ``smplx_valid``, ``img2bb_trans``, ``bb2img_trans``, ``flip``, ``rot``, ``ori_shape``.

    Optional keys: ``keypoints_3d``, ``gender``, ``cam_param``, ``lhand_root``/``rhand_root``,
    ``hand_only``, ``use_smplx_joints``, ``body_model_type``, ``smpl_params``,
    ``vertices3d_path``.

    Written into ``results['gt_instances']`` (official target/meta names): ``joint_img``
    (137, 3) in heatmap units with discretised depth, ``joint_cam`` (137, 3)
    pelvis-relative, ``smplx_joint_cam`` (137, 3) part-relative, ``smplx_pose`` (159),
    ``smplx_shape`` (10), ``smplx_expr`` (10), ``lhand_root``/``rhand_root`` (1, 3),
    ``smplx_cam_trans`` (3), ``joint_valid``, ``joint_trunc``, ``smplx_joint_valid``,
    ``smplx_joint_trunc`` (137, 1), ``smplx_pose_valid`` (477), ``smplx_shape_valid``,
    ``smplx_expr_valid``, ``is_3D``, ``lhand_valid``, ``rhand_valid`` (scalars), and with
    ``with_mesh`` the un-augmented ground-truth mesh ``smplx_mesh_cam`` (V, 3) (or
    ``smpl_mesh_cam`` for SMPL annotations).

    Args:
        body_model_dir: SMPL-X/SMPL folder (``None`` uses ``$SMPLESTX_BODY_MODELS``).
        with_mesh: Add the ground-truth mesh (evaluation).
        input_img_shape: Crop size ``(H, W)``.
        output_hm_shape: Heatmap size ``(D, H, W)``.
        input_body_shape: Network input ``(H, W)`` (only for ``official_trunc_bounds``).
        body_3d_size: Depth range (m) of the body joints' discretised depth.
        hand_3d_size: Depth range of the hand joints (SMPL-X branch).
        face_3d_size: Depth range of the face joints (SMPL-X branch).
        max_abs_betas: Zero the shape target when any ``|beta|`` exceeds this.
        official_trunc_bounds: Reproduce the official truncation bounds bug.
        official_hand_root: Leave the hand roots un-augmented, as the official code does.
    """

    def __init__(self,
                 body_model_dir: Optional[str] = None,
                 with_mesh: bool = False,
                 input_img_shape: Tuple[int, int] = (512, 384),
                 output_hm_shape: Tuple[int, int, int] = (16, 16, 12),
                 input_body_shape: Tuple[int, int] = (256, 192),
                 body_3d_size: float = 2.0,
                 hand_3d_size: float = 0.3,
                 face_3d_size: float = 0.3,
                 max_abs_betas: float = 3.0,
                 official_trunc_bounds: bool = False,
                 official_hand_root: bool = False) -> None:
        self.body_model_dir = body_model_dir
        self.with_mesh = with_mesh
        self.input_img_shape = tuple(input_img_shape)
        self.output_hm_shape = tuple(output_hm_shape)
        self.input_body_shape = tuple(input_body_shape)
        self.body_3d_size = body_3d_size
        self.hand_3d_size = hand_3d_size
        self.face_3d_size = face_3d_size
        self.max_abs_betas = max_abs_betas
        self.official_trunc_bounds = official_trunc_bounds
        self.official_hand_root = official_hand_root
        self._models: Dict[str, torch.nn.Module] = {}
        self._joint_models: Dict[str, SMPLXJointsOnly] = {}
        self._hand_assets: Optional[tuple] = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_models'] = {}
        state['_joint_models'] = {}
        state['_hand_assets'] = None
        return state

    # -------------------------------------------------------------------------- body models
    def _model(self, kind: str, gender: str) -> torch.nn.Module:
        key = f'{kind}_{gender}'
        if key not in self._models:
            from smplestx.models.body_models import SMPLBodyModel, SMPLXBodyModel
            cls = SMPLXBodyModel if kind == 'smplx' else SMPLBodyModel
            self._models[key] = cls(self.body_model_dir, gender=gender).eval()
        return self._models[key]

    def _hand_vertices(self) -> tuple:
        if self._hand_assets is None:
            from smplestx.models.body_models import load_smplx_assets
            assets = load_smplx_assets(self.body_model_dir)
            self._hand_assets = (assets.hand_vertex_ids, assets.J_regressor)
        return self._hand_assets

    # ---------------------------------------------------------------------------- transform
    def transform(self, results: dict) -> dict:
        """Compute the targets of one sample."""
        for key in ('keypoints_2d', 'keypoints_valid', 'smplx_params', 'img2bb_trans'):
            if key not in results:
                raise KeyError(f"GenerateSMPLXTargets needs '{key}' in results (run "
                               f'AffineCrop on a HumanDataset sample first)')
        flip = bool(results.get('flip', False))
        rot_mat = rotation_about_z(float(results.get('rot', 0.0)))
        gt = self._keypoint_targets(results, rot_mat)
        smplx = self._smplx_targets(results, flip, rot_mat)
        is_3d = results.get('keypoints_3d') is not None
        if results.get('use_smplx_joints'):
            gt['smplx_joint_cam'] = smplx['joint_cam']
            gt['joint_cam'] = undo_part_relative(smplx['joint_cam'])
            gt['joint_valid'] = gt['joint_valid'] * smplx['joint_finite'][:, None]
            gt['joint_trunc'] = gt['joint_trunc'] * smplx['joint_finite'][:, None]
        gt.update(
            smplx_pose=smplx['pose'].reshape(-1),
            smplx_shape=smplx['shape'],
            smplx_expr=smplx['expr'],
            smplx_cam_trans=np.nan_to_num(np.asarray(results['smplx_params']['transl'],
                                                     np.float32)),
            smplx_joint_valid=gt['joint_valid'] if is_3d else smplx['coord_valid'][:, None],
            smplx_joint_trunc=gt['joint_trunc'] if is_3d else
            (smplx['coord_valid'] * smplx['trunc'])[:, None],
            smplx_pose_valid=np.repeat(smplx['rotation_valid'], 9),
            smplx_shape_valid=np.float32(smplx['shape'].any()),
            smplx_expr_valid=np.float32(smplx['expr_valid']),
            is_3D=np.float32(is_3d))
        gt.update(self._hand_roots(results, flip, rot_mat))
        if self.with_mesh:
            gt.update(self._mesh(results, smplx['mesh']))
        else:
            gt.update(lhand_valid=np.float32(1.0), rhand_valid=np.float32(1.0))
        results['gt_instances'] = {k: np.asarray(v, np.float32) for k, v in gt.items()}
        return results

    def _keypoint_targets(self, results: dict, rot_mat: np.ndarray) -> dict:
        """Official ``process_db_coord`` on keypoints already flipped and warped."""
        kps2d = np.asarray(results['keypoints_2d'], np.float32)
        valid = np.asarray(results['keypoints_valid'], np.float32).reshape(_NUM_JOINTS, 1)
        kps3d = results.get('keypoints_3d')
        joint_img = np.zeros((_NUM_JOINTS, 3), np.float32)
        joint_img[:, :2] = to_heatmap_units(kps2d[:, :2], self.input_img_shape,
                                            self.output_hm_shape)
        if kps3d is not None:
            kps3d = np.asarray(kps3d, np.float32)
            joint_cam = kps3d - kps3d[ROOT_IDX]
            joint_img[:, 2] = (joint_cam[:, 2] / (self.body_3d_size / 2) + 1) / 2 \
                * self.output_hm_shape[0]
            joint_cam = joint_cam @ rot_mat.T
        else:
            joint_cam = np.zeros((_NUM_JOINTS, 3), np.float32)
        if self.official_trunc_bounds:
            bound_x, bound_y = self.input_body_shape[1], self.input_body_shape[0]
        else:
            bound_x, bound_y = self.output_hm_shape[2], self.output_hm_shape[1]
        with np.errstate(invalid='ignore'):
            inside = ((joint_img[:, 0] >= 0) & (joint_img[:, 0] < bound_x)
                      & (joint_img[:, 1] >= 0) & (joint_img[:, 1] < bound_y)
                      & (joint_img[:, 2] >= 0))
        finite = np.isfinite(joint_img).all(1) & np.isfinite(joint_cam).all(1)
        valid = valid * finite[:, None]
        return dict(
            joint_img=np.nan_to_num(joint_img), joint_cam=np.nan_to_num(joint_cam),
            smplx_joint_cam=np.nan_to_num(part_relative(joint_cam)), joint_valid=valid,
            joint_trunc=valid * inside[:, None].astype(np.float32))

    def _smplx_targets(self, results: dict, flip: bool, rot_mat: np.ndarray) -> dict:
        """Official ``process_human_model_output`` (SMPL-X branch)."""
        params = results['smplx_params']
        flags = results.get('smplx_valid', {})
        rotation_valid = np.ones(53, np.float32)
        coord_valid = np.ones(_NUM_JOINTS, np.float32)
        pose = {k: np.asarray(params[k], np.float32).reshape(-1, 3) for k in _POSE_KEYS}
        expr = np.asarray(params['expression'], np.float32).reshape(-1)
        for part, rot_part, keys, ok in (
                ('body', 'body', (), flags.get('body', True)),
                ('lhand', 'lhand', ('left_hand_pose', ), flags.get('lhand', True)),
                ('rhand', 'rhand', ('right_hand_pose', ), flags.get('rhand', True)),
                ('face', 'face', ('jaw_pose', ), flags.get('face', True))):
            if ok:
                continue
            rotation_valid[list(SMPLX_ROT53_PARTS[rot_part])] = 0
            coord_valid[list(SMPLX_137_PARTS[part])] = 0
            for key in keys:
                pose[key] = np.zeros_like(pose[key])
            if part == 'face':
                expr = np.zeros_like(expr)
        # a non-finite rotation is invalid; it stays NaN for the layer so that the joints it
        # moves come out non-finite (cv2.Rodrigues would silently turn it into zeros)
        rotation_valid *= np.isfinite(np.concatenate([pose[k] for k in _POSE_KEYS])).all(1)
        expr_valid = bool(flags.get('face', True)) and bool(np.isfinite(expr).all())
        cam = results.get('cam_param') or {}
        if 'R' in cam and np.isfinite(pose['global_orient']).all():
            pose['global_orient'] = rotate_axis_angle(
                np.asarray(cam['R'], np.float32).reshape(3, 3), pose['global_orient'])[None]
        betas = np.asarray(params['betas'], np.float32).reshape(-1)
        transl = np.asarray(params['transl'], np.float32).reshape(-1)
        mesh, joints = self._run_smplx(results.get('gender', 'neutral'), pose, betas, expr,
                                       transl)
        if 'R' in cam and 't' in cam:
            rmat = np.asarray(cam['R'], np.float32).reshape(3, 3)
            offset = rmat @ joints[ROOT_IDX] + np.asarray(cam['t'], np.float32).reshape(3) \
                - joints[ROOT_IDX]
            joints = joints + offset
            mesh = None if mesh is None else mesh + offset
        trunc = self._smplx_trunc(results, joints, flip)
        joint_cam = part_relative(joints - joints[ROOT_IDX])
        if flip:
            joint_cam[:, 0] *= -1
            joint_cam = swap_pairs(joint_cam, SMPLX_137_FLIP_PAIRS)
            coord_valid = swap_pairs(coord_valid, SMPLX_137_FLIP_PAIRS)
        joint_cam = joint_cam @ rot_mat.T
        joint_finite = np.isfinite(joint_cam).all(1)
        coord_valid = coord_valid * joint_finite
        full_pose = np.concatenate([pose[k] for k in _POSE_KEYS], axis=0)
        if flip:
            full_pose = flip_axis_angle(swap_pairs(full_pose, SMPLX_ROT53_FLIP_PAIRS))
            rotation_valid = swap_pairs(rotation_valid, SMPLX_ROT53_FLIP_PAIRS)
        full_pose[0] = rotate_axis_angle(rot_mat, full_pose[0])
        shape = betas.copy()
        if not np.isfinite(shape).all() or np.abs(shape).max(initial=0) > self.max_abs_betas:
            shape[:] = 0
        full_pose = np.nan_to_num(full_pose)
        return dict(pose=full_pose.astype(np.float32), shape=shape,
                    expr=expr if expr_valid else np.zeros_like(expr), expr_valid=expr_valid,
                    rotation_valid=rotation_valid, coord_valid=coord_valid, trunc=trunc,
                    joint_cam=np.nan_to_num(joint_cam), joint_finite=joint_finite, mesh=mesh)

    def _run_smplx(self, gender: str, pose: Dict[str, np.ndarray], betas: np.ndarray,
                   expr: np.ndarray, transl: np.ndarray
                   ) -> Tuple[Optional[np.ndarray], np.ndarray]:
        """Mesh (``None`` without ``with_mesh``) and 137 joints of the ground truth."""
        if not self.with_mesh:
            if gender not in self._joint_models:
                layer = self._model('smplx', gender).smplx_layer
                self._joint_models[gender] = SMPLXJointsOnly(layer)
            joints = self._joint_models[gender](pose, betas, expr, transl)
            return None, joints[list(SMPLX_137_FROM_144)]
        model = self._model('smplx', gender)
        inputs = {k: torch.from_numpy(np.ascontiguousarray(v.reshape(1, -1)))
                  for k, v in pose.items()}
        with torch.no_grad():
            out = model(betas=torch.from_numpy(betas[None]),
                        expression=torch.from_numpy(expr[None]),
                        transl=torch.from_numpy(transl[None]), **inputs)
        mesh = out['vertices'][0].numpy()
        joints = out['joints'][0].numpy()[list(SMPLX_137_FROM_144)]
        return mesh, joints

    def _smplx_trunc(self, results: dict, joints: np.ndarray, flip: bool) -> np.ndarray:
        """Truncation of the SMPL-X joints (only used for samples without 3D keypoints)."""
        cam = results.get('cam_param') or {}
        img_w = results['ori_shape'][1]
        if 'focal' in cam and 'princpt' in cam:
            focal = np.asarray(cam['focal'], np.float32).reshape(2)
            princpt = np.asarray(cam['princpt'], np.float32).reshape(2)
            orig = np.concatenate([joints[:, :2] / joints[:, 2:3] * focal + princpt,
                                   joints[:, 2:3]], axis=1)
            positive = (orig > 0).all(axis=1).astype(np.float32)
            xy = orig[:, :2].copy()
            if flip:
                xy[:, 0] = img_w - 1 - xy[:, 0]
                xy = swap_pairs(xy, SMPLX_137_FLIP_PAIRS)
                positive = swap_pairs(positive, SMPLX_137_FLIP_PAIRS)
            crop = affine_points(xy, results['img2bb_trans'])
        else:
            crop = np.asarray(results['keypoints_2d'], np.float32)[:, :2]
            unwarped = affine_points(crop, results['bb2img_trans'])
            if flip:
                unwarped[:, 0] = img_w - 1 - unwarped[:, 0]
            depth = results.get('keypoints_3d')
            depth_ok = np.ones(_NUM_JOINTS, bool) if depth is None else \
                (np.asarray(depth)[:, 2] - np.asarray(depth)[ROOT_IDX, 2]
                 > -self.body_3d_size / 2)
            positive = ((unwarped > 0).all(axis=1) & depth_ok).astype(np.float32)
        rel = joints - joints[ROOT_IDX]
        rel = part_relative(rel)
        if flip:
            rel = swap_pairs(rel, SMPLX_137_FLIP_PAIRS)
        depth = np.zeros(_NUM_JOINTS, np.float32)
        for part, size in (('body', self.body_3d_size), ('lhand', self.hand_3d_size),
                           ('rhand', self.hand_3d_size), ('face', self.face_3d_size)):
            rng = SMPLX_137_PARTS[part]
            depth[rng.start:rng.stop] = (rel[rng.start:rng.stop, 2] / (size / 2) + 1) / 2 \
                * self.output_hm_shape[0]
        hm = to_heatmap_units(crop, self.input_img_shape, self.output_hm_shape)
        with np.errstate(invalid='ignore'):
            inside = ((hm[:, 0] >= 0) & (hm[:, 0] < self.output_hm_shape[2])
                      & (hm[:, 1] >= 0) & (hm[:, 1] < self.output_hm_shape[1])
                      & (depth >= 0) & (depth < self.output_hm_shape[0]))
        return positive * inside.astype(np.float32)

    def _hand_roots(self, results: dict, flip: bool, rot_mat: np.ndarray) -> dict:
        left = np.asarray(results.get('lhand_root', np.zeros(3)), np.float32).reshape(3)
        right = np.asarray(results.get('rhand_root', np.zeros(3)), np.float32).reshape(3)
        if not self.official_hand_root:
            if flip:
                left, right = flip_axis_angle(right), flip_axis_angle(left)
            left = rotate_axis_angle(rot_mat, left) if left.any() else left
            right = rotate_axis_angle(rot_mat, right) if right.any() else right
        return dict(lhand_root=left[None], rhand_root=right[None])

    def _mesh(self, results: dict, smplx_mesh: np.ndarray) -> dict:
        """Un-augmented ground-truth mesh for evaluation (official test branch)."""
        out = dict(lhand_valid=np.float32(1.0), rhand_valid=np.float32(1.0))
        if results.get('body_model_type') == 'smpl' and 'smpl_params' in results:
            out['smpl_mesh_cam'] = self._smpl_mesh(results)
            return out
        mesh = smplx_mesh.copy()
        if results.get('vertices3d_path'):
            mesh = np.load(results['vertices3d_path'], allow_pickle=False).astype(np.float32)
        elif results.get('hand_only'):
            mesh, out = self._hand_only_mesh(results, mesh)
        out['smplx_mesh_cam'] = mesh
        return out

    def _hand_only_mesh(self, results: dict, mesh: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Hand vertices made wrist-relative and turned by the MANO global orientation."""
        vertex_ids, j_regressor = self._hand_vertices()
        out = {}
        for side, key, wrist in (('left', 'lhand_root', 20), ('right', 'rhand_root', 21)):
            root = np.asarray(results.get(key, np.zeros(3)), np.float64).reshape(3)
            out[f'{side[0]}hand_valid'] = np.float32(root.any())
            ids = vertex_ids[side]
            wrist_pos = j_regressor[wrist] @ mesh
            rmat, _ = cv2.Rodrigues(root)
            mesh[ids] = ((mesh[ids] - wrist_pos) @ rmat.T).astype(np.float32)
        return mesh, out

    def _smpl_mesh(self, results: dict) -> np.ndarray:
        params = results['smpl_params']
        model = self._model('smpl', results.get('gender', 'neutral'))
        root = np.asarray(params['global_orient'], np.float32).reshape(3)
        cam = results.get('cam_param') or {}
        if 'R' in cam:
            root = rotate_axis_angle(np.asarray(cam['R'], np.float32).reshape(3, 3), root)
        tensors = dict(global_orient=root[None],
                       body_pose=np.asarray(params['body_pose'], np.float32).reshape(1, -1),
                       betas=np.asarray(params['betas'], np.float32).reshape(1, -1),
                       transl=np.asarray(params['transl'], np.float32).reshape(1, -1))
        with torch.no_grad():
            out = model(**{k: torch.from_numpy(np.ascontiguousarray(v))
                           for k, v in tensors.items()})
        mesh = out['vertices'][0].numpy()
        if 'R' in cam and 't' in cam:
            pelvis = model.joint_regressor.numpy()[0] @ mesh
            rmat = np.asarray(cam['R'], np.float32).reshape(3, 3)
            mesh = mesh - pelvis + rmat @ pelvis + np.asarray(cam['t'], np.float32).reshape(3)
        return mesh.astype(np.float32)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_mesh={self.with_mesh}, '
                f'official_trunc_bounds={self.official_trunc_bounds}, '
                f'official_hand_root={self.official_hand_root})')
