"""Per-sample mesh and joint errors of the SMPL-X benchmark protocol (batched).

Every function takes a batch and returns one error per sample, in the units of its
input (metres in, metres out); the metrics convert to millimetres. Work is done in
float64 whatever the input dtype.
"""

from dataclasses import dataclass, fields
from typing import Dict, Iterable, Sequence, Union

import torch
from torch import Tensor

from .procrustes import procrustes_residuals

#: SMPL-X ``J_regressor`` rows used for alignment (official ``J_regressor_idx``).
SMPLX_PELVIS, SMPLX_NECK, SMPLX_LWRIST, SMPLX_RWRIST = 0, 12, 20, 21
#: SMPL joints forming the 14 LSP joints (official ``LSP_MAPPIMG``).
SMPL_LSP14_IDS = (1, 2, 4, 5, 7, 8, 12, 15, 16, 17, 18, 19, 20, 21)
#: Part groups of :func:`smplx_mesh_errors`.
SMPLX_PARTS = ('all', 'hands', 'face', 'body')

ErrorDict = Dict[str, Tensor]


def point_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean Euclidean distance between corresponding points, per sample.

    Args:
        pred: Predicted points, shape (B, N, 3).
        gt: Ground-truth points, shape (B, N, 3).

    Returns:
        Errors of shape (B,), float64.
    """
    diff = pred.to(torch.float64) - gt.to(torch.float64)
    return torch.linalg.vector_norm(diff, dim=-1).mean(dim=-1)


def pa_point_error(pred: Tensor, gt: Tensor) -> Tensor:
    """Mean point distance after similarity Procrustes of ``pred`` onto ``gt``.

    Args:
        pred: Predicted points, shape (B, N, 3).
        gt: Ground-truth points, shape (B, N, 3).

    Returns:
        Errors of shape (B,), float64.
    """
    return torch.linalg.vector_norm(procrustes_residuals(pred, gt), dim=-1).mean(dim=-1)


def regress(regressor: Tensor, vertices: Tensor) -> Tensor:
    """Apply a (J, V) regressor or vertex matrix (dense or sparse) to (B, V, 3) vertices.

    Args:
        regressor: Matrix of shape (J, V), dense or a torch sparse tensor.
        vertices: Vertices of shape (B, V, 3).

    Returns:
        Points of shape (B, J, 3), in the promoted dtype.
    """
    batch, num_verts, _ = vertices.shape
    if regressor.shape[-1] != num_verts:
        raise ValueError(f'regressor of shape {tuple(regressor.shape)} does not match meshes '
                         f'with {num_verts} vertices')
    # one (J, V) x (V, 3B) product; faster than a broadcast batched matmul
    flat = vertices.to(regressor.dtype).permute(1, 0, 2).reshape(num_verts, batch * 3)
    out = torch.sparse.mm(regressor, flat) if regressor.is_sparse else regressor @ flat
    return out.reshape(-1, batch, 3).permute(1, 0, 2)


@dataclass
class SMPLXEvalTensors:
    """The SMPL-X body-model arrays the benchmark protocol needs (float64 / int64).

    Attributes:
        joint_regressor: SMPL-X ``J_regressor`` (55, V); rows 0/12/20/21 are used.
        j14_regressor: ``SMPLX_to_J14`` (14, V).
        lhand_vertex_ids: Left MANO vertices in SMPL-X (778,).
        rhand_vertex_ids: Right MANO vertices in SMPL-X (778,).
        face_vertex_ids: FLAME vertices in SMPL-X (5023,).
        lhand_regressor: Left hand-joint regressor (21, V), wrist row first.
        rhand_regressor: Right hand-joint regressor (21, V), wrist row first.
    """

    joint_regressor: Tensor
    j14_regressor: Tensor
    lhand_vertex_ids: Tensor
    rhand_vertex_ids: Tensor
    face_vertex_ids: Tensor
    lhand_regressor: Tensor
    rhand_regressor: Tensor

    def __post_init__(self) -> None:
        for f in fields(self):
            value = torch.as_tensor(getattr(self, f.name))
            dtype = torch.int64 if f.name.endswith('_ids') else torch.float64
            setattr(self, f.name, value.to(dtype))
        stacked = torch.cat([
            self.joint_regressor[[SMPLX_PELVIS, SMPLX_NECK, SMPLX_LWRIST, SMPLX_RWRIST]],
            self.j14_regressor, self.lhand_regressor, self.rhand_regressor
        ])
        # The regressors are local: keep only the vertices any of them reads (~800 of
        # 10475 for SMPL-X), which makes regression an order of magnitude cheaper.
        self._columns = stacked.ne(0).any(dim=0).nonzero()[:, 0]
        self._stacked = stacked[:, self._columns]

    def to(self, device: Union[str, torch.device]) -> 'SMPLXEvalTensors':
        """Return a copy with every array on ``device``."""
        return SMPLXEvalTensors(**{f.name: getattr(self, f.name).to(device)
                                   for f in fields(self)})

    def regress_all(self, vertices: Tensor) -> Dict[str, Tensor]:
        """Regress every joint set the protocol needs with one matrix product.

        Args:
            vertices: SMPL-X vertices (B, V, 3).

        Returns:
            ``pelvis``/``neck``/``lwrist``/``rwrist`` (B, 3), ``j14`` (B, 14, 3),
            ``lhand``/``rhand`` (B, 21, 3), all float64.
        """
        if vertices.shape[1] != self.joint_regressor.shape[1]:
            raise ValueError(f'meshes have {vertices.shape[1]} vertices, the regressors expect '
                             f'{self.joint_regressor.shape[1]}')
        joints = regress(self._stacked, vertices[:, self._columns])
        n14 = self.j14_regressor.shape[0]
        nl = self.lhand_regressor.shape[0]
        return dict(pelvis=joints[:, 0], neck=joints[:, 1], lwrist=joints[:, 2],
                    rwrist=joints[:, 3], j14=joints[:, 4:4 + n14],
                    lhand=joints[:, 4 + n14:4 + n14 + nl], rhand=joints[:, 4 + n14 + nl:])


def _check_meshes(pred: Tensor, gt: Tensor, num_verts: int, what: str) -> None:
    if pred.ndim != 3 or pred.shape[-1] != 3 or gt.ndim != 3 or gt.shape[0] != pred.shape[0]:
        raise ValueError(f'{what}: expected (B, V, 3) meshes with the same B, got '
                         f'{tuple(pred.shape)} and {tuple(gt.shape)}')
    if gt.shape[1] != num_verts:
        raise ValueError(f'{what}: GT meshes have {gt.shape[1]} vertices, expected {num_verts}')


def _check_parts(parts: Iterable[str]) -> Sequence[str]:
    parts = tuple(parts)
    unknown = sorted(set(parts) - set(SMPLX_PARTS))
    if unknown:
        raise ValueError(f'unknown part(s) {unknown}; choose from {SMPLX_PARTS}')
    return parts


def smplx_mesh_errors(pred: Tensor,
                      gt: Tensor,
                      tensors: SMPLXEvalTensors,
                      parts: Iterable[str] = SMPLX_PARTS,
                      hand_mpjpe_gt_absolute: bool = False) -> ErrorDict:
    """Per-sample errors of SMPL-X predictions against SMPL-X GT meshes (spec §7.1).

    - ``all``: ``mpvpe/all`` (pred shifted so its pelvis meets the GT pelvis) and
      ``pa-mpvpe/all``.
    - ``hands``: per hand (778 vertices), both meshes relative to their own wrist:
      ``mpvpe/{lhand,rhand}``; ``pa-mpvpe/{lhand,rhand}`` (Procrustes onto the
      wrist-relative GT hand); hand joints (20 regressed joints without the wrist,
      wrist-relative): ``mpjpe/{lhand,rhand}`` and ``pa-mpjpe/{lhand,rhand}``.
    - ``face``: ``mpvpe/face`` (neck-aligned FLAME vertices) and ``pa-mpvpe/face``.
    - ``body``: J14 joints, ``mpjpe/body`` (from the pelvis-aligned pred mesh) and
      ``pa-mpjpe/body``.

    Hand validity is not applied here; the caller masks the hand entries.

    Args:
        pred: Predicted SMPL-X vertices (B, V, 3).
        gt: Ground-truth SMPL-X vertices (B, V, 3).
        tensors: Body-model arrays on the same device.
        parts: Which part groups to compute (subset of :data:`SMPLX_PARTS`).
        hand_mpjpe_gt_absolute: Reproduce the official bug of comparing the
            wrist-relative pred hand joints with camera-frame GT in ``mpjpe/{l,r}hand``.

    Returns:
        Dict mapping ``'{metric}/{part}'`` to per-sample errors (B,), float64.
    """
    parts = _check_parts(parts)
    _check_meshes(pred, gt, tensors.joint_regressor.shape[1], 'smplx_mesh_errors')
    pred = pred.to(torch.float64)
    gt = gt.to(torch.float64)
    jp = tensors.regress_all(pred)
    jg = tensors.regress_all(gt)
    out: ErrorDict = {}
    if 'all' in parts:
        offset = jg['pelvis'] - jp['pelvis']
        out['mpvpe/all'] = point_error(pred + offset[:, None], gt)
        out['pa-mpvpe/all'] = pa_point_error(pred, gt)
    if 'body' in parts:
        offset = jg['pelvis'] - jp['pelvis']
        row_sums = tensors.j14_regressor.sum(dim=1)
        j14_aligned = jp['j14'] + row_sums[None, :, None] * offset[:, None]
        out['mpjpe/body'] = point_error(j14_aligned, jg['j14'])
        out['pa-mpjpe/body'] = pa_point_error(jp['j14'], jg['j14'])
    if 'hands' in parts:
        for side in ('lhand', 'rhand'):
            ids = getattr(tensors, f'{side}_vertex_ids')
            wrist = 'lwrist' if side == 'lhand' else 'rwrist'
            pred_hand = pred[:, ids]
            gt_hand = gt[:, ids] - jg[wrist][:, None]
            out[f'mpvpe/{side}'] = point_error(pred_hand - jp[wrist][:, None], gt_hand)
            out[f'pa-mpvpe/{side}'] = pa_point_error(pred_hand, gt_hand)
            pred_joints = jp[side][:, 1:] - jp[wrist][:, None]
            gt_joints = jg[side][:, 1:]
            if not hand_mpjpe_gt_absolute:
                gt_joints = gt_joints - jg[wrist][:, None]
            out[f'mpjpe/{side}'] = point_error(pred_joints, gt_joints)
            out[f'pa-mpjpe/{side}'] = pa_point_error(pred_joints, gt_joints)
    if 'face' in parts:
        ids = tensors.face_vertex_ids
        pred_face = pred[:, ids]
        gt_face = gt[:, ids]
        offset = jg['neck'] - jp['neck']
        out['mpvpe/face'] = point_error(pred_face + offset[:, None], gt_face)
        out['pa-mpvpe/face'] = pa_point_error(pred_face, gt_face)
    return out


def smpl_mesh_errors(pred: Tensor,
                     gt: Tensor,
                     smplx_pelvis_regressor: Tensor,
                     smpl_joint_regressor: Tensor,
                     smplx2smpl: Tensor,
                     lsp_ids: Sequence[int] = SMPL_LSP14_IDS) -> ErrorDict:
    """Per-sample errors of SMPL-X predictions against SMPL GT meshes (e.g. 3DPW).

    The pred is shifted so its SMPL-X pelvis meets the GT's SMPL pelvis, then mapped to
    SMPL topology with ``smplx2smpl``. ``mpvpe/all`` and ``pa-mpvpe/all`` use the SMPL
    vertices; ``mpjpe/body`` and ``pa-mpjpe/body`` use the 14 LSP joints regressed from
    both SMPL meshes.

    Args:
        pred: Predicted SMPL-X vertices (B, V, 3).
        gt: Ground-truth SMPL vertices (B, 6890, 3).
        smplx_pelvis_regressor: SMPL-X ``J_regressor`` pelvis row (V,).
        smpl_joint_regressor: SMPL ``J_regressor`` (24, 6890); row 0 is the pelvis.
        smplx2smpl: SMPL-X to SMPL vertex matrix (6890, V), dense or torch sparse.
        lsp_ids: SMPL joints forming the LSP-14 set.

    Returns:
        Dict mapping ``'{metric}/{part}'`` to per-sample errors (B,), float64.
    """
    _check_meshes(pred, gt, smpl_joint_regressor.shape[1], 'smpl_mesh_errors')
    if smplx2smpl.shape != (gt.shape[1], pred.shape[1]):
        raise ValueError(f'smplx2smpl matrix has shape {tuple(smplx2smpl.shape)}, expected '
                         f'{(gt.shape[1], pred.shape[1])}')
    pred = pred.to(torch.float64)
    gt = gt.to(torch.float64)
    pelvis_pred = regress(smplx_pelvis_regressor.to(torch.float64)[None], pred)
    smpl_reg = smpl_joint_regressor.to(torch.float64)
    joints_gt = regress(smpl_reg, gt)
    aligned = pred - pelvis_pred + joints_gt[:, :1]
    smpl_pred = regress(smplx2smpl.to(torch.float64), aligned)
    joints_pred = regress(smpl_reg, smpl_pred)
    lsp = list(lsp_ids)
    return {
        'mpvpe/all': point_error(smpl_pred, gt),
        'pa-mpvpe/all': pa_point_error(smpl_pred, gt),
        'mpjpe/body': point_error(joints_pred[:, lsp], joints_gt[:, lsp]),
        'pa-mpjpe/body': pa_point_error(joints_pred[:, lsp], joints_gt[:, lsp]),
    }
