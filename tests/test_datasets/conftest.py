"""A factory of small HumanData files for the dataset tests."""

import numpy as np
import pytest


def make_humandata(path, num=6, seed=0, drop=(), smplx_extra=None, meta_extra=None,
                   compress=False, **overrides):
    """Write a minimal but complete HumanData ``.npz`` and return its arrays."""
    rng = np.random.default_rng(seed)
    kps2d = np.concatenate([rng.uniform(50, 150, (num, 144, 2)), np.ones((num, 144, 1))], -1)
    kps3d = np.concatenate([rng.normal(0, 0.3, (num, 144, 3)) + [0, 0, 3],
                            np.ones((num, 144, 1))], -1)
    smplx = dict(global_orient=rng.normal(0, 0.2, (num, 3)),
                 body_pose=rng.normal(0, 0.2, (num, 21, 3)),
                 left_hand_pose=rng.normal(0, 0.2, (num, 15, 3)),
                 right_hand_pose=rng.normal(0, 0.2, (num, 15, 3)),
                 jaw_pose=rng.normal(0, 0.1, (num, 3)),
                 betas=rng.normal(0, 1, (num, 10)), expression=rng.normal(0, 1, (num, 10)),
                 transl=rng.normal(0, 0.1, (num, 3)) + [0, 0, 3])
    smplx = {k: v.astype(np.float32) for k, v in smplx.items()}
    smplx.update(smplx_extra or {})
    meta = dict(height=np.full(num, 200), width=np.full(num, 220))
    meta.update(meta_extra or {})
    content = dict(
        image_path=np.array([f'imgs/img_{i:03d}.jpg' for i in range(num)]),
        bbox_xywh=np.concatenate([rng.uniform(10, 40, (num, 2)), rng.uniform(60, 120, (num, 2)),
                                  np.ones((num, 1))], 1).astype(np.float32),
        keypoints2d=kps2d.astype(np.float32), keypoints2d_mask=np.ones(144, np.float32),
        keypoints3d=kps3d.astype(np.float32), keypoints3d_mask=np.ones(144, np.float32),
        smplx=smplx, meta=meta, __keypoints_compressed__=np.array(compress))
    content.update(overrides)
    for key in drop:
        content.pop(key)
    np.savez(path, **content)
    return content


@pytest.fixture()
def humandata_factory(tmp_path):
    def factory(name='hd.npz', **kwargs):
        path = tmp_path / name
        content = make_humandata(path, **kwargs)
        return str(path), content
    return factory


@pytest.fixture(scope='session')
def synthetic_humandata(body_model_path, tmp_path_factory):
    """(annotation path, image root) of a 3-image synthetic HumanData set."""
    from smplestx.datasets.synthetic import make_synthetic_humandata
    out = tmp_path_factory.mktemp('synthetic')
    path = make_synthetic_humandata(str(body_model_path), str(out), num=3, img_size=(160, 128),
                                    seed=1)
    return path, str(out)
