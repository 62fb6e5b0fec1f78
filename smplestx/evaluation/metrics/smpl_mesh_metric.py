"""SMPL-X predictions against SMPL ground-truth meshes (e.g. 3DPW), spec §7.1."""

import math
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp
import torch
from mmengine.evaluator import BaseMetric
from torch import Tensor

from smplestx.evaluation.functional import SMPL_LSP14_IDS, smpl_mesh_errors
from smplestx.evaluation.functional.mesh_errors import SMPLX_PELVIS
from smplestx.models.body_models.assets import (
    load_pickle_safely,
    load_smpl_model_data,
    load_smplx_assets,
)
from smplestx.registry import METRICS
from smplestx.utils.body_model_files import require_body_model_files, resolve_body_model_dir

from .sample_fields import stack_pred_and_gt_meshes

MatrixLike = Union[str, np.ndarray, sp.spmatrix, Tensor]


def _to_sparse_tensor(matrix: Any, source: str) -> Tensor:
    """Turn a dense/scipy/torch (R, C) matrix into a coalesced float64 torch COO tensor."""
    if isinstance(matrix, Tensor):
        matrix = matrix.to_dense().cpu().numpy() if matrix.is_sparse else matrix.cpu().numpy()
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix)
        if matrix.ndim != 2:
            raise ValueError(f'{source}: expected a 2-D matrix, got shape {matrix.shape}')
    coo = sp.coo_matrix(matrix, dtype=np.float64)
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(coo.data), coo.shape,
                                   check_invariants=True).coalesce()


def load_smplx2smpl(matrix: MatrixLike) -> Tensor:
    """Load the SMPL-X to SMPL vertex matrix (6890, V) as a sparse float64 tensor.

    Args:
        matrix: A ``smplx2smpl.pkl`` path (a dict with key ``'matrix'``) or the matrix.

    Returns:
        A coalesced sparse COO tensor.
    """
    if isinstance(matrix, str):
        data = load_pickle_safely(matrix)
        if not isinstance(data, dict) or 'matrix' not in data:
            raise ValueError(f"{matrix} must hold a dict with key 'matrix'")
        return _to_sparse_tensor(data['matrix'], matrix)
    return _to_sparse_tensor(matrix, 'smplx2smpl')


def load_smpl_joint_regressor(path: str) -> Tensor:
    """Read ``J_regressor`` (24, 6890) from an SMPL ``.pkl`` model as float64."""
    data = load_smpl_model_data(path)
    reg = data['J_regressor']
    reg = reg.toarray() if sp.issparse(reg) else np.asarray(reg)
    return torch.from_numpy(reg.astype(np.float64))


@METRICS.register_module()
class SMPLMeshMetric(BaseMetric):
    """Errors of SMPL-X predictions against SMPL GT meshes (3DPW protocol), in mm.

    The pred is shifted so that its SMPL-X pelvis meets the GT's SMPL pelvis, mapped
    to SMPL with the ``smplx2smpl`` matrix, and compared: ``mpvpe/all`` and
    ``pa-mpvpe/all`` on the 6890 SMPL vertices, ``mpjpe/body`` and ``pa-mpjpe/body``
    on the 14 LSP joints of the SMPL regressor. Matches the official SMPL-GT branch.

    Inputs per data sample: ``pred_instances.vertices`` (1, V, 3) and
    ``gt_instances.smpl_mesh_cam`` (1, 6890, 3), in metres.

    Args:
        body_model_dir: Folder with ``smplx/`` and ``smpl/`` (default
            ``$SMPLESTX_BODY_MODELS``).
        smplx2smpl: Path of ``smplx2smpl.pkl`` or the (6890, V) matrix (dense, scipy
            sparse or tensor); default ``<body_model_dir>/smplx2smpl.pkl``.
        smpl_model: SMPL model file relative to ``body_model_dir`` whose
            ``J_regressor`` is used (the official code uses the neutral model).
        gt_key: GT mesh field in ``gt_instances``.
        collect_device: Device for collecting results across ranks.
        prefix: Prefix of the metric names (default none).
        collect_dir: Temporary folder for the CPU collection.
    """

    default_prefix: Optional[str] = ''
    METRIC_KEYS = ('mpvpe/all', 'pa-mpvpe/all', 'mpjpe/body', 'pa-mpjpe/body')

    def __init__(self,
                 body_model_dir: Optional[str] = None,
                 smplx2smpl: Optional[MatrixLike] = None,
                 smpl_model: str = 'smpl/SMPL_NEUTRAL.pkl',
                 gt_key: str = 'smpl_mesh_cam',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        root = resolve_body_model_dir(body_model_dir)
        needed = [smpl_model] + ([] if smplx2smpl is not None else ['smplx2smpl.pkl'])
        require_body_model_files(root, needed)
        if smplx2smpl is None:
            smplx2smpl = osp.join(root, 'smplx2smpl.pkl')
        assets = load_smplx_assets(root)
        self.gt_key = gt_key
        self._arrays = {
            'pelvis': torch.from_numpy(assets.J_regressor[SMPLX_PELVIS].astype(np.float64)),
            'smpl_reg': load_smpl_joint_regressor(osp.join(root, smpl_model)),
            'smplx2smpl': load_smplx2smpl(smplx2smpl),
        }
        self._arrays_on: Dict[torch.device, Dict[str, Tensor]] = {}

    def _arrays_for(self, device: torch.device) -> Dict[str, Tensor]:
        if device not in self._arrays_on:
            self._arrays_on[device] = {k: v.to(device) for k, v in self._arrays.items()}
        return self._arrays_on[device]

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Compute the per-sample errors (mm) of a batch and append them to ``results``.

        Args:
            data_batch: The data-loader batch (unused).
            data_samples: Samples as dicts (``to_dict()``) or ``SMPLXDataSample``s.
        """
        if not data_samples:
            return
        pred, gt = stack_pred_and_gt_meshes(data_samples, self.gt_key)
        arrays = self._arrays_for(pred.device)
        errors = smpl_mesh_errors(pred, gt, arrays['pelvis'], arrays['smpl_reg'],
                                  arrays['smplx2smpl'], SMPL_LSP14_IDS)
        values = {k: (v * 1000.0).cpu().tolist() for k, v in errors.items()}
        for i in range(len(data_samples)):
            self.results.append({k: v[i] for k, v in values.items()})

    def compute_metrics(self, results: List[Dict[str, float]]) -> Dict[str, float]:
        """Average the per-sample errors (NaN when there are none).

        Args:
            results: The per-sample dicts of all ranks.

        Returns:
            Metric name to value in mm.
        """
        return {k: (math.fsum(r[k] for r in results) / len(results) if results
                    else float('nan')) for k in self.METRIC_KEYS}
