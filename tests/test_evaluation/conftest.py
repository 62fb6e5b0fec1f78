"""Fixtures for the evaluation tests: body-model arrays and a loop-based reference.

The reference follows the spec §7.1 formulas one sample at a time with numpy (float64),
the way the official ``HumanDataset.evaluate`` does, so that the vectorised metrics
can be checked against an independent implementation.
"""

from typing import Callable, Dict, List

import numpy as np
import pytest

from smplestx.models.body_models.assets import SMPLXAssets, load_smplx_assets

PELVIS, NECK, LWRIST, RWRIST = 0, 12, 20, 21
LSP14 = [1, 2, 4, 5, 7, 8, 12, 15, 16, 17, 18, 19, 20, 21]


def rigid_align_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Similarity Procrustes of one (N, 3) set onto another, like the official code."""
    n = a.shape[0]
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov = (a - mu_a).T @ (b - mu_b) / n
    u, s, vt = np.linalg.svd(cov)
    rot = vt.T @ u.T
    if np.linalg.det(rot) < 0:
        s[-1] = -s[-1]
        vt[2] = -vt[2]
        rot = vt.T @ u.T
    scale = s.sum() / a.var(axis=0).sum()
    trans = mu_b - scale * rot @ mu_a
    return (scale * rot @ a.T).T + trans


def mean_dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b) ** 2).sum(axis=1)).mean())


def reference_sample_errors(pred: np.ndarray, gt: np.ndarray, assets: SMPLXAssets,
                            hand_gt_absolute: bool = False) -> Dict[str, float]:
    """All §7.1 errors of one SMPL-X sample, in mm (float64, no batching)."""
    pred = pred.astype(np.float64)
    gt = gt.astype(np.float64)
    jreg = assets.J_regressor.astype(np.float64)
    jp, jg = jreg @ pred, jreg @ gt
    out = {}
    aligned = pred - jp[PELVIS] + jg[PELVIS]
    out['mpvpe/all'] = mean_dist(aligned, gt)
    out['pa-mpvpe/all'] = mean_dist(rigid_align_np(pred, gt), gt)
    j14 = assets.j14_regressor.astype(np.float64)
    out['mpjpe/body'] = mean_dist(j14 @ aligned, j14 @ gt)
    out['pa-mpjpe/body'] = mean_dist(rigid_align_np(j14 @ pred, j14 @ gt), j14 @ gt)
    for side, key, wrist in (('lhand', 'left', LWRIST), ('rhand', 'right', RWRIST)):
        ids = assets.hand_vertex_ids[key]
        gt_hand = gt[ids] - jg[wrist]
        out[f'mpvpe/{side}'] = mean_dist(pred[ids] - jp[wrist], gt_hand)
        out[f'pa-mpvpe/{side}'] = mean_dist(rigid_align_np(pred[ids], gt_hand), gt_hand)
        hreg = assets.hand_regressors[key].astype(np.float64)
        pj = (hreg @ pred)[1:] - jp[wrist]
        gj = (hreg @ gt)[1:]
        if not hand_gt_absolute:
            gj = gj - jg[wrist]
        out[f'mpjpe/{side}'] = mean_dist(pj, gj)
        out[f'pa-mpjpe/{side}'] = mean_dist(rigid_align_np(pj, gj), gj)
    ids = assets.face_vertex_ids
    out['mpvpe/face'] = mean_dist(pred[ids] - jp[NECK] + jg[NECK], gt[ids])
    out['pa-mpvpe/face'] = mean_dist(rigid_align_np(pred[ids], gt[ids]), gt[ids])
    return {k: v * 1000.0 for k, v in out.items()}


def official_evaluate(per_sample: List[Dict[str, float]], lvalid: List[float],
                      rvalid: List[float]) -> Dict[str, List[float]]:
    """The official per-sample list building (incl. its outlier ``continue`` and 0/0)."""
    res: Dict[str, List[float]] = {}
    for e, lv, rv in zip(per_sample, lvalid, rvalid):
        for key in ('mpvpe/all', 'pa-mpvpe/all', 'mpvpe/face', 'pa-mpvpe/face', 'mpjpe/body',
                    'pa-mpjpe/body'):
            res.setdefault(key, []).append(e[key])
        with np.errstate(invalid='ignore', divide='ignore'):
            for name in ('mpvpe', 'pa-mpvpe', 'mpjpe'):
                if lv:
                    res.setdefault(f'{name}/lhand', []).append(e[f'{name}/lhand'])
                if rv:
                    res.setdefault(f'{name}/rhand', []).append(e[f'{name}/rhand'])
                res.setdefault(f'{name}/hands', []).append(
                    np.float64(e[f'{name}/lhand'] * lv + e[f'{name}/rhand'] * rv) / (lv + rv))
            skip = False
            for side, valid in (('lhand', lv), ('rhand', rv)):
                if valid:
                    value = e[f'pa-mpjpe/{side}']
                    if value < 100:
                        res.setdefault(f'pa-mpjpe/{side}', []).append(value)
                    if value > 100:
                        skip = True
                        break
            if not skip:
                res.setdefault('pa-mpjpe/hands', []).append(
                    np.float64(e['pa-mpjpe/lhand'] * lv + e['pa-mpjpe/rhand'] * rv) / (lv + rv))
    return res


@pytest.fixture(scope='session')
def smplx_assets(body_model_path) -> SMPLXAssets:
    """Arrays of the synthetic SMPL-X model (regressors, vertex ids)."""
    return load_smplx_assets(str(body_model_path))


@pytest.fixture(scope='session')
def smplx_template(body_model_path) -> np.ndarray:
    """The synthetic SMPL-X template mesh (V, 3), float64."""
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as data:
        return data['v_template'].astype(np.float64)


@pytest.fixture(scope='session')
def reference_errors() -> Callable[..., Dict[str, float]]:
    """The per-sample loop reference of the §7.1 formulas."""
    return reference_sample_errors


@pytest.fixture(scope='session')
def official_lists() -> Callable[..., Dict[str, List[float]]]:
    """The official list-building logic over per-sample reference errors."""
    return official_evaluate


@pytest.fixture(scope='session')
def procrustes_reference() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The official per-sample ``rigid_align``."""
    return rigid_align_np
