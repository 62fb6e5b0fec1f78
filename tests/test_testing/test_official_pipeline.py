"""The official training-pipeline re-implementation agrees with our pipeline."""

import random

import numpy as np
import pytest

from smplestx.datasets import HumanDataset
from smplestx.datasets.transforms import AffineCrop, GenerateSMPLXTargets, GetBBox, LoadImage
from smplestx.testing.official_pipeline import OfficialTrainSample, official_record


@pytest.fixture(scope='module')
def synthetic_humandata(body_model_path, tmp_path_factory):
    from smplestx.datasets.synthetic import make_synthetic_humandata
    out = tmp_path_factory.mktemp('synthetic')
    path = make_synthetic_humandata(str(body_model_path), str(out), num=2, img_size=(160, 128),
                                    seed=1)
    return path, str(out)


@pytest.fixture(scope='module')
def official(body_model_path):
    return OfficialTrainSample(str(body_model_path))


@pytest.mark.parametrize('randn,rand,expected', [
    (0.0, 0.99, dict(aug_scale=1.0, aug_rot=0.0, aug_flip=False)),
    (0.5, 0.0, dict(aug_scale=1.125, aug_rot=15.0, aug_flip=True)),
])
def test_matches_our_targets(synthetic_humandata, body_model_path, official, monkeypatch,
                             randn, rand, expected):
    path, root = synthetic_humandata
    data = HumanDataset(path, data_prefix=dict(img_path=root), camera_from_meta=True)
    info = data.get_data_info(1)
    monkeypatch.setattr(np.random, 'randn', lambda: randn)
    monkeypatch.setattr(random, 'random', lambda: rand)
    monkeypatch.setattr(random, 'uniform', lambda low, high: 1.0)
    inputs, targets, meta = official(official_record(info))

    results = dict(info, aug_color_scale=None, **expected)
    steps = (LoadImage(), GetBBox(ratio=1.2 * 0.833), AffineCrop(),
             GenerateSMPLXTargets(str(body_model_path), official_trunc_bounds=True,
                                  official_hand_root=True))
    for step in steps:
        results = step(results)
    gt = results['gt_instances']
    np.testing.assert_allclose(inputs['img'].numpy().transpose(1, 2, 0) * 255, results['img'],
                               atol=2e-3)
    pairs = dict(joint_img='joint_img', joint_cam='joint_cam',
                 smplx_joint_cam='smplx_joint_cam', smplx_pose='smplx_pose',
                 smplx_shape='smplx_shape', smplx_expr='smplx_expr')
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(gt[ours], targets[theirs], atol=1e-4, err_msg=ours)
    for key in ('joint_valid', 'joint_trunc', 'smplx_pose_valid'):
        np.testing.assert_array_equal(gt[key], meta[key], err_msg=key)
    assert gt['is_3D'] == meta['is_3D'] == 1.0
