import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from smplestx.evaluation.metrics import SMPLMeshMetric
from smplestx.evaluation.metrics.smpl_mesh_metric import (
    load_smpl_joint_regressor,
    load_smplx2smpl,
)
from smplestx.models.body_models.assets import load_pickle_safely
from smplestx.utils.body_model_files import BodyModelFilesError, BodyModelFormatError

LSP14 = [1, 2, 4, 5, 7, 8, 12, 15, 16, 17, 18, 19, 20, 21]

#: Means of the official ``HumanDataset.evaluate`` SMPL-GT branch (MotrixLab/SMPLest-X
#: fdebd887, unmodified, CPU, synthetic body models) on ``make_case``, in mm.
OFFICIAL_MEANS = {
    'mpvpe/all': 770.2533393947054,
    'pa-mpvpe/all': 443.32978831192304,
    'mpjpe/body': 679.8832999758148,
    'pa-mpjpe/body': 510.56473525535324,
}


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def make_case(smplx_template: np.ndarray, smpl_template: np.ndarray):
    """A deterministic SMPL-X -> SMPL matrix and SMPL-X preds / SMPL GTs (float64)."""
    rng = np.random.default_rng(7)
    num_smplx = smplx_template.shape[0]
    rows = np.repeat(np.arange(6890), 3)
    cols = rng.integers(0, num_smplx, size=6890 * 3)
    weights = rng.dirichlet([2.0, 2.0, 2.0], size=6890).ravel()
    matrix = sp.csr_matrix((weights, (rows, cols)), shape=(6890, num_smplx))
    preds, gts = [], []
    for _ in range(3):
        gts.append(smpl_template @ _rotation(rng).T + np.array([0.0, 0.0, 4.0])
                   + rng.normal(scale=0.01, size=smpl_template.shape))
        preds.append(smplx_template @ _rotation(rng).T * 0.9 + rng.normal(size=3))
    return matrix, preds, gts


@pytest.fixture(scope='module')
def smpl_data(body_model_path):
    with open(body_model_path / 'smpl' / 'SMPL_NEUTRAL.pkl', 'rb') as f:
        data = pickle.load(f, encoding='latin1')
    return np.asarray(data['v_template'], np.float64), np.asarray(data['J_regressor'],
                                                                  np.float64)


@pytest.fixture(scope='module')
def case(smplx_template, smpl_data):
    return make_case(smplx_template, smpl_data[0])


def _samples(preds, gts):
    return [dict(pred_instances=dict(vertices=torch.from_numpy(p)[None]),
                 gt_instances=dict(smpl_mesh_cam=torch.from_numpy(g)[None]))
            for p, g in zip(preds, gts)]


def _mean_dist(a, b):
    return np.sqrt(((a - b) ** 2).sum(axis=1)).mean() * 1000


def test_matches_loop_reference(body_model_path, tmp_path, case, smpl_data, smplx_assets,
                                procrustes_reference):
    matrix, preds, gts = case
    path = tmp_path / 'smplx2smpl.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'matrix': matrix}, f)
    metric = SMPLMeshMetric(str(body_model_path), smplx2smpl=str(path))
    metric.process({}, _samples(preds[:2], gts[:2]))
    metric.process({}, _samples(preds[2:], gts[2:]))
    ours = metric.evaluate(3)
    smpl_reg = smpl_data[1]
    pelvis = smplx_assets.J_regressor[0].astype(np.float64)
    ref = {k: [] for k in SMPLMeshMetric.METRIC_KEYS}
    for pred, gt in zip(preds, gts):
        smpl_pred = matrix @ (pred - pelvis @ pred + (smpl_reg @ gt)[0])
        jo, jg = (smpl_reg @ smpl_pred)[LSP14], (smpl_reg @ gt)[LSP14]
        ref['mpvpe/all'].append(_mean_dist(smpl_pred, gt))
        ref['pa-mpvpe/all'].append(_mean_dist(procrustes_reference(smpl_pred, gt), gt))
        ref['mpjpe/body'].append(_mean_dist(jo, jg))
        ref['pa-mpjpe/body'].append(_mean_dist(procrustes_reference(jo, jg), jg))
    assert set(ours) == set(ref)
    for key, values in ref.items():
        assert abs(ours[key] - np.mean(values)) < 1e-6, key


def test_matrix_inputs_are_equivalent(tmp_path):
    dense = np.random.default_rng(0).random((5, 8)) * (np.arange(8) % 3 == 0)
    path = tmp_path / 'm.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'matrix': dense}, f)
    for given in (dense, sp.csr_matrix(dense), torch.from_numpy(dense), str(path)):
        loaded = load_smplx2smpl(given)
        assert loaded.is_sparse and loaded.dtype == torch.float64
        np.testing.assert_array_equal(loaded.to_dense().numpy(), dense)
    with open(path, 'wb') as f:
        pickle.dump({'other': dense}, f)
    with pytest.raises(ValueError, match="key 'matrix'"):
        load_smplx2smpl(str(path))


def test_official_values_golden(body_model_path, case):
    matrix, preds, gts = case
    metric = SMPLMeshMetric(str(body_model_path), smplx2smpl=matrix)
    metric.process({}, _samples(preds, gts))
    for key, value in metric.evaluate(3).items():
        assert abs(value - OFFICIAL_MEANS[key]) < 1e-6, key


def test_missing_matrix_and_bad_gt(body_model_path, case):
    with pytest.raises(BodyModelFilesError, match='smplx2smpl.pkl'):
        SMPLMeshMetric(str(body_model_path))
    matrix, preds, gts = case
    metric = SMPLMeshMetric(str(body_model_path), smplx2smpl=matrix)
    with pytest.raises(KeyError, match='gt_instances.smpl_mesh_cam'):
        metric.process({}, [dict(pred_instances=dict(vertices=torch.zeros(1, 5, 3)),
                                 gt_instances=dict())])
    with pytest.raises(ValueError, match='vertices, expected'):
        metric.process({}, _samples([preds[0]], [gts[0][:100]]))


def test_smpl_joint_regressor_of_a_bad_model_file_is_one_line(body_model_path, tmp_path):
    """The metric reads SMPL files through the same checks as the SMPL layer."""
    source = body_model_path / 'smpl' / 'SMPL_NEUTRAL.pkl'
    assert load_smpl_joint_regressor(str(source)).shape == (24, 6890)
    data = load_pickle_safely(str(source))
    data.pop('J_regressor')
    path = tmp_path / 'SMPL_NEUTRAL.pkl'
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    with pytest.raises(BodyModelFormatError,
                       match=rf'^{path} lacks the array\(s\) J_regressor; is it an SMPL model'):
        load_smpl_joint_regressor(str(path))
