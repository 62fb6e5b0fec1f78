import numpy as np
import pytest
import scipy.sparse as sp
import torch

from smplestx.evaluation.functional import (
    SMPL_LSP14_IDS,
    SMPLX_PARTS,
    SMPLXEvalTensors,
    point_error,
    regress,
    smpl_mesh_errors,
    smplx_mesh_errors,
)


@pytest.fixture(scope='module')
def tensors(smplx_assets) -> SMPLXEvalTensors:
    a = smplx_assets
    return SMPLXEvalTensors(
        joint_regressor=torch.from_numpy(a.J_regressor),
        j14_regressor=torch.from_numpy(a.j14_regressor),
        lhand_vertex_ids=torch.from_numpy(a.hand_vertex_ids['left']),
        rhand_vertex_ids=torch.from_numpy(a.hand_vertex_ids['right']),
        face_vertex_ids=torch.from_numpy(a.face_vertex_ids),
        lhand_regressor=torch.from_numpy(a.hand_regressors['left']),
        rhand_regressor=torch.from_numpy(a.hand_regressors['right']))


def _normalized(reg: np.ndarray) -> torch.Tensor:
    reg = reg.astype(np.float64)
    return torch.from_numpy(reg / reg.sum(axis=1, keepdims=True))


@pytest.fixture(scope='module')
def exact_tensors(smplx_assets) -> SMPLXEvalTensors:
    """Regressors whose float64 rows sum exactly to one, so that analytic identities
    (translation/similarity invariance) hold to rounding error; the float32 files' rows
    sum to one only within ~1e-7."""
    a = smplx_assets
    return SMPLXEvalTensors(
        joint_regressor=_normalized(a.J_regressor),
        j14_regressor=_normalized(a.j14_regressor),
        lhand_vertex_ids=torch.from_numpy(a.hand_vertex_ids['left']),
        rhand_vertex_ids=torch.from_numpy(a.hand_vertex_ids['right']),
        face_vertex_ids=torch.from_numpy(a.face_vertex_ids),
        lhand_regressor=_normalized(a.hand_regressors['left']),
        rhand_regressor=_normalized(a.hand_regressors['right']))


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], 1)


def _gt_meshes(template: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    noise = rng.normal(scale=0.01, size=(n, ) + template.shape)
    return template[None] + noise + np.array([0.1, 0.3, 5.0])


def test_translation_gives_zero_aligned_errors(exact_tensors, smplx_template):
    tensors = exact_tensors
    rng = np.random.default_rng(0)
    gt = torch.from_numpy(_gt_meshes(smplx_template, rng, 2))
    offset = torch.tensor([[0.3, -0.2, 0.5], [0.0, 1.0, 0.0]], dtype=torch.float64)
    pred = gt + offset[:, None]
    errors = smplx_mesh_errors(pred, gt, tensors)
    for key, value in errors.items():
        if key.startswith('pa-') or key in ('mpvpe/all', 'mpvpe/face', 'mpjpe/body',
                                           'mpvpe/lhand', 'mpvpe/rhand', 'mpjpe/lhand',
                                           'mpjpe/rhand'):
            assert value.abs().max() < 1e-10, key
    # without alignment the error is the offset itself
    torch.testing.assert_close(point_error(pred, gt), offset.norm(dim=1), rtol=1e-12, atol=0)
    # the official hand-MPJPE bug compares wrist-relative pred with camera-frame GT
    buggy = smplx_mesh_errors(pred, gt, tensors, parts=['hands'], hand_mpjpe_gt_absolute=True)
    assert (buggy['mpjpe/lhand'] > 4.0).all() and (buggy['pa-mpjpe/lhand'] < 1e-10).all()


def test_pa_errors_vanish_for_random_similarity(exact_tensors, smplx_template):
    tensors = exact_tensors
    rng = np.random.default_rng(1)
    gt = _gt_meshes(smplx_template, rng, 3)
    rot = _random_rotations(rng, 3)
    scale = rng.uniform(0.5, 2.0, size=3)
    pred = scale[:, None, None] * gt @ rot.transpose(0, 2, 1) + rng.normal(size=(3, 1, 3))
    errors = smplx_mesh_errors(torch.from_numpy(pred), torch.from_numpy(gt), tensors)
    for key in ('pa-mpvpe/all', 'pa-mpvpe/lhand', 'pa-mpvpe/rhand', 'pa-mpvpe/face',
                'pa-mpjpe/body', 'pa-mpjpe/lhand', 'pa-mpjpe/rhand'):
        assert errors[key].abs().max() < 1e-9, key
    assert errors['mpvpe/all'].min() > 0.01


@pytest.mark.parametrize('gt_absolute', [False, True])
def test_random_predictions_match_loop_reference(tensors, smplx_assets, smplx_template,
                                                 reference_errors, gt_absolute):
    rng = np.random.default_rng(2)
    gt = _gt_meshes(smplx_template, rng, 3)
    pred = (gt + rng.normal(scale=0.05, size=gt.shape)) @ _random_rotations(rng, 3) + 0.2
    errors = smplx_mesh_errors(torch.from_numpy(pred).float(), torch.from_numpy(gt).float(),
                               tensors, hand_mpjpe_gt_absolute=gt_absolute)
    pred32 = pred.astype(np.float32)
    gt32 = gt.astype(np.float32)
    refs = [reference_errors(p, g, smplx_assets, gt_absolute) for p, g in zip(pred32, gt32)]
    assert set(errors) == set(refs[0])
    for key, value in errors.items():
        np.testing.assert_allclose(value.numpy() * 1000, [r[key] for r in refs], rtol=0,
                                   atol=1e-6, err_msg=key)


def test_parts_subset_and_input_checks(tensors, smplx_template):
    gt = torch.from_numpy(smplx_template)[None]
    errors = smplx_mesh_errors(gt + 1, gt, tensors, parts=['face'])
    assert set(errors) == {'mpvpe/face', 'pa-mpvpe/face'}
    assert set(SMPLX_PARTS) == {'all', 'hands', 'face', 'body'}
    with pytest.raises(ValueError, match='unknown part'):
        smplx_mesh_errors(gt, gt, tensors, parts=['feet'])
    with pytest.raises(ValueError, match='vertices, expected'):
        smplx_mesh_errors(gt[:, :100], gt[:, :100], tensors)


def test_smpl_branch_matches_loop_reference(smplx_assets, smplx_template, procrustes_reference):
    rng = np.random.default_rng(3)
    num_smplx = smplx_template.shape[0]
    rows = np.repeat(np.arange(6890), 3)
    cols = rng.integers(0, num_smplx, size=6890 * 3)
    mat = sp.csr_matrix((rng.dirichlet([2, 2, 2], size=6890).ravel(), (rows, cols)),
                        shape=(6890, num_smplx))
    smpl_reg = rng.dirichlet(np.ones(6890) * 0.05, size=24)
    gt = rng.normal(size=(2, 6890, 3)) * 0.3 + np.array([0, 0, 4.0])
    pred = smplx_template[None] @ _random_rotations(rng, 2) + rng.normal(size=(2, 1, 3))
    pelvis = smplx_assets.J_regressor[0].astype(np.float64)
    coo = mat.tocoo()
    sparse = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape)
    errors = smpl_mesh_errors(torch.from_numpy(pred), torch.from_numpy(gt),
                              torch.from_numpy(pelvis), torch.from_numpy(smpl_reg), sparse)
    for i in range(2):
        aligned = pred[i] - pelvis @ pred[i] + (smpl_reg @ gt[i])[0]
        ds = mat @ aligned
        jg = (smpl_reg @ gt[i])[list(SMPL_LSP14_IDS)]
        jo = (smpl_reg @ ds)[list(SMPL_LSP14_IDS)]

        def dist(a, b):
            return np.sqrt(((a - b) ** 2).sum(1)).mean()

        ref = {'mpvpe/all': dist(ds, gt[i]),
               'pa-mpvpe/all': dist(procrustes_reference(ds, gt[i]), gt[i]),
               'mpjpe/body': dist(jo, jg),
               'pa-mpjpe/body': dist(procrustes_reference(jo, jg), jg)}
        for key, value in ref.items():
            assert abs(float(errors[key][i]) - value) * 1000 < 1e-6, key
    # dense and sparse matrices regress alike (small matrix: a dense 6890 x V one is 0.6 GB)
    small = sp.random(7, num_smplx, density=0.001, random_state=0, format='coo')
    small_sparse = torch.sparse_coo_tensor(np.vstack([small.row, small.col]), small.data,
                                           small.shape)
    verts = torch.from_numpy(pred)
    torch.testing.assert_close(regress(small_sparse, verts),
                               regress(torch.from_numpy(small.toarray()), verts))
    with pytest.raises(ValueError, match='smplx2smpl matrix has shape'):
        smpl_mesh_errors(torch.from_numpy(pred), torch.from_numpy(gt), torch.from_numpy(pelvis),
                         torch.from_numpy(smpl_reg), torch.zeros(10, 10))
