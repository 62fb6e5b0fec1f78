"""SMPL-X (and SMPL) body-model modules used by SMPLest-X.

The wrapped ``smplx`` layers get their buffers from the user's model files, not from training,
and the official checkpoints do not contain them. All their buffers are therefore registered as
non-persistent: the ``state_dict`` of a model holding these modules has no body-model keys, so
official checkpoints load strictly, and the buffers still follow ``.to(device)``.
"""

import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import smplx
import torch
import torch.nn as nn
from smplx.utils import Struct

from smplestx.registry import MODELS
from smplestx.structures.keypoint.smplx_conventions import (
    LWRIST_IDX,
    NECK_IDX,
    ROOT_IDX,
    RWRIST_IDX,
    SMPLX_137_FROM_144,
    SMPLX_137_PARTS,
)
from smplestx.utils.body_model_files import require_body_model_files, resolve_body_model_dir

from ..utils.camera import project_to_heatmap
from .assets import check_smplx_model_file, load_smpl_model_data

__all__ = ['SMPLXBodyModel', 'SMPLBodyModel', 'make_buffers_non_persistent']

_GENDERS = ('neutral', 'male', 'female')
_NO_PARAMS_SMPLX = dict(
    create_global_orient=False, create_body_pose=False, create_left_hand_pose=False,
    create_right_hand_pose=False, create_jaw_pose=False, create_leye_pose=False,
    create_reye_pose=False, create_betas=False, create_expression=False, create_transl=False)
_NO_PARAMS_SMPL = dict(create_global_orient=False, create_body_pose=False, create_betas=False,
                       create_transl=False)


def make_buffers_non_persistent(module: nn.Module) -> None:
    """Re-register every buffer of ``module`` and its children as non-persistent."""
    for sub in module.modules():
        for name in list(sub._buffers):
            tensor = sub._buffers.pop(name)
            sub.register_buffer(name, tensor, persistent=False)


def file_backed_device() -> torch.device:
    """Where to build buffers read from model files: the default device, but never meta.

    :func:`smplestx.apis.init_model` builds the network on the meta device, so that weights
    a checkpoint replaces are never initialised; the body model's buffers come from files,
    not from checkpoints, so they are built for real (on the CPU) even then.
    """
    default = torch.get_default_device()
    return torch.device('cpu') if default.type == 'meta' else default


def _check_gender(gender: str) -> str:
    if gender.lower() not in _GENDERS:
        raise ValueError(f'gender must be one of {_GENDERS}, got {gender!r}')
    return gender.upper()


@MODELS.register_module()
class SMPLXBodyModel(nn.Module):
    """The SMPL-X layer of SMPLest-X plus its virtual-camera projection (``Model.get_coord``).

    Built as the official code does: ``use_pca=False``, ``use_face_contour=True``,
    ``flat_hand_mean=False`` (the hand means are added to the hand poses), 10 betas and 10
    expression coefficients, zero eye poses.

    Args:
        body_model_dir: Folder holding ``smplx/SMPLX_{GENDER}.npz``; ``None`` uses
            ``$SMPLESTX_BODY_MODELS``.
        gender: ``'neutral'``, ``'male'`` or ``'female'``.
        focal: Virtual focal lengths (fx, fy) of the body crop.
        princpt: Virtual principal point (cx, cy) of the body crop.
        input_body_shape: Network input (H, W).
        output_hm_shape: Heatmap (H, W) in which ``joint_proj`` is expressed.
    """

    def __init__(self,
                 body_model_dir: Optional[str] = None,
                 gender: str = 'neutral',
                 focal: Sequence[float] = (5000., 5000.),
                 princpt: Sequence[float] = (96., 128.),
                 input_body_shape: Sequence[int] = (256, 192),
                 output_hm_shape: Sequence[int] = (16, 12)) -> None:
        super().__init__()
        root = resolve_body_model_dir(body_model_dir)
        gender = _check_gender(gender)
        relpath = f'smplx/SMPLX_{gender}.npz'
        require_body_model_files(root, [relpath])
        check_smplx_model_file(osp.join(root, relpath))
        with torch.device(file_backed_device()):
            self.smplx_layer = smplx.create(
                root, 'smplx', gender=gender, use_pca=False,
                use_face_contour=True, flat_hand_mean=False, num_betas=10,
                num_expression_coeffs=10, **_NO_PARAMS_SMPLX)
        make_buffers_non_persistent(self.smplx_layer)
        self._faces = np.asarray(self.smplx_layer.faces, dtype=np.int64)
        self.gender = gender.lower()
        self.focal = tuple(focal)
        self.princpt = tuple(princpt)
        self.input_body_shape = tuple(input_body_shape)
        self.output_hm_shape = tuple(output_hm_shape)

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles."""
        return self._faces

    @property
    def num_vertices(self) -> int:
        """Number of vertices (10475 for the real model)."""
        return int(self.smplx_layer.v_template.shape[0])

    @property
    def J_regressor(self) -> torch.Tensor:  # noqa: N802 (the smplx name)
        """(55, V) joint regressor of the LBS joints."""
        return self.smplx_layer.J_regressor

    def forward(self,
                global_orient: torch.Tensor,
                body_pose: torch.Tensor,
                left_hand_pose: torch.Tensor,
                right_hand_pose: torch.Tensor,
                jaw_pose: torch.Tensor,
                betas: torch.Tensor,
                expression: torch.Tensor,
                transl: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Pose the SMPL-X model (axis-angle inputs, zero eye poses).

        Args:
            global_orient: (B, 3) root orientation.
            body_pose: (B, 63) or (B, 21, 3) body joint rotations.
            left_hand_pose: (B, 45) left-hand rotations, relative to the hand mean.
            right_hand_pose: (B, 45) right-hand rotations, relative to the hand mean.
            jaw_pose: (B, 3) jaw rotation.
            betas: (B, 10) shape coefficients.
            expression: (B, 10) expression coefficients.
            transl: Optional (B, 3) translation added to vertices and joints.

        Returns:
            ``vertices`` (B, V, 3) and ``joints`` (B, 144, 3).
        """
        batch_size = global_orient.shape[0]
        eye_pose = global_orient.new_zeros((batch_size, 3))
        output = self.smplx_layer(
            betas=betas, body_pose=body_pose, global_orient=global_orient,
            right_hand_pose=right_hand_pose, left_hand_pose=left_hand_pose, jaw_pose=jaw_pose,
            leye_pose=eye_pose, reye_pose=eye_pose, expression=expression, transl=transl)
        return {'vertices': output.vertices, 'joints': output.joints}

    def get_coord(self,
                  root_pose: torch.Tensor,
                  body_pose: torch.Tensor,
                  lhand_pose: torch.Tensor,
                  rhand_pose: torch.Tensor,
                  jaw_pose: torch.Tensor,
                  shape: torch.Tensor,
                  expr: torch.Tensor,
                  cam_trans: torch.Tensor,
                  keep_all_joints: bool = False) -> Dict[str, torch.Tensor]:
        """Run SMPL-X in the virtual camera and derive the supervised joint sets.

        Mirrors the official ``Model.get_coord``.

        Args:
            root_pose: (B, 3) axis-angle root orientation.
            body_pose: (B, 63) axis-angle body pose.
            lhand_pose: (B, 45) axis-angle left-hand pose.
            rhand_pose: (B, 45) axis-angle right-hand pose.
            jaw_pose: (B, 3) axis-angle jaw pose.
            shape: (B, 10) betas.
            expr: (B, 10) expression.
            cam_trans: (B, 3) camera translation (passed to SMPL-X as ``transl``).
            keep_all_joints: Keep all 144 joints instead of the 137 supervision joints (the
                official AGORA/BEDLAM test mode; the part-relative step then applies the same
                index ranges to the 144 joints, as the official code does).

        Returns:
            ``joint_proj`` (B, J, 2) in heatmap units, ``joint_cam`` (B, J, 3) part-relative
            (hands on the wrists, face on the neck, the rest on the pelvis),
            ``joint_cam_wo_ra`` (B, J, 3) pelvis-relative, ``mesh_cam`` (B, V, 3) in camera
            coordinates and ``root_cam`` (B, 1, 3) the camera-frame pelvis; J is 137 or 144.
        """
        out = self.forward(root_pose, body_pose, lhand_pose, rhand_pose, jaw_pose, shape, expr,
                           transl=cam_trans)
        joints = out['joints']
        if not keep_all_joints:
            joints = joints[:, list(SMPLX_137_FROM_144)]
        joint_proj = project_to_heatmap(joints, self.focal, self.princpt, self.input_body_shape,
                                        self.output_hm_shape)
        root_cam = joints[:, ROOT_IDX, None]
        joint_cam_wo_ra = joints - root_cam
        joint_cam = _part_relative(joint_cam_wo_ra)
        return {
            'joint_proj': joint_proj,
            'joint_cam': joint_cam,
            'joint_cam_wo_ra': joint_cam_wo_ra,
            'mesh_cam': out['vertices'],
            'root_cam': root_cam,
        }


def _part_relative(joint_cam: torch.Tensor) -> torch.Tensor:
    """Make the hand joints wrist-relative and the face joints neck-relative."""
    lhand, rhand, face = (SMPLX_137_PARTS[k] for k in ('lhand', 'rhand', 'face'))
    pieces = [
        joint_cam[:, :lhand.start],
        joint_cam[:, lhand.start:lhand.stop] - joint_cam[:, LWRIST_IDX, None],
        joint_cam[:, rhand.start:rhand.stop] - joint_cam[:, RWRIST_IDX, None],
        joint_cam[:, face.start:face.stop] - joint_cam[:, NECK_IDX, None],
        joint_cam[:, face.stop:],
    ]
    return torch.cat(pieces, dim=1)


@MODELS.register_module()
class SMPLBodyModel(nn.Module):
    """SMPL layer for SMPL-annotated ground truth (e.g. 3DPW).

    The ``smpl/SMPL_{GENDER}.pkl`` file is read and checked with
    :func:`~.assets.load_smpl_model_data` and handed to ``smplx`` as arrays, so no pickle is
    executed by ``smplx`` itself.

    Args:
        body_model_dir: Folder holding ``smpl/SMPL_{GENDER}.pkl``; ``None`` uses
            ``$SMPLESTX_BODY_MODELS``.
        gender: ``'neutral'``, ``'male'`` or ``'female'``.
    """

    def __init__(self, body_model_dir: Optional[str] = None, gender: str = 'neutral') -> None:
        super().__init__()
        root = resolve_body_model_dir(body_model_dir)
        gender = _check_gender(gender)
        relpath = f'smpl/SMPL_{gender}.pkl'
        require_body_model_files(root, [relpath])
        path = osp.join(root, relpath)
        data = load_smpl_model_data(path)
        with torch.device(file_backed_device()):
            self.smpl_layer = smplx.SMPL(path, data_struct=Struct(**data), gender=gender,
                                         **_NO_PARAMS_SMPL)
        make_buffers_non_persistent(self.smpl_layer)
        self._faces = np.asarray(self.smpl_layer.faces, dtype=np.int64)
        self.gender = gender.lower()

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles."""
        return self._faces

    @property
    def num_vertices(self) -> int:
        """Number of vertices (6890)."""
        return int(self.smpl_layer.v_template.shape[0])

    @property
    def joint_regressor(self) -> torch.Tensor:
        """(24, V) SMPL joint regressor (used for the LSP-14 evaluation joints)."""
        return self.smpl_layer.J_regressor

    def forward(self,
                global_orient: torch.Tensor,
                body_pose: torch.Tensor,
                betas: torch.Tensor,
                transl: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Pose the SMPL model.

        Args:
            global_orient: (B, 3) axis-angle root orientation.
            body_pose: (B, 69) axis-angle body pose (23 joints).
            betas: (B, 10) shape coefficients.
            transl: Optional (B, 3) translation.

        Returns:
            ``vertices`` (B, 6890, 3) and ``joints`` (B, 45, 3) (24 LBS + 21 extra joints).
        """
        output = self.smpl_layer(global_orient=global_orient, body_pose=body_pose, betas=betas,
                                 transl=transl)
        return {'vertices': output.vertices, 'joints': output.joints}
