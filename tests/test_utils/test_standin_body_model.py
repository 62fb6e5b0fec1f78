import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from smplestx.testing.tools import load_tool
from smplestx.utils import standin_body_model as standin
from smplestx.utils.body_model_files import (
    SMPLX_AUX_FILES,
    SMPLX_MODEL_FILES,
    require_body_model_files,
)

REPO = Path(__file__).resolve().parents[2]


def load_cli():
    return load_tool('tools/misc/make_standin_body_model.py')


@pytest.fixture(scope='module')
def standin_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('standin') / 'body_models'
    assert load_cli().main([str(out)]) == 0
    return out


@pytest.fixture(scope='module')
def neutral(standin_dir):
    with np.load(standin_dir / 'smplx' / 'SMPLX_NEUTRAL.npz') as data:
        return {k: data[k] for k in data.files}


def test_folder_layout_and_marker(standin_dir):
    require_body_model_files(str(standin_dir), SMPLX_MODEL_FILES + SMPLX_AUX_FILES)
    for gender in standin.GENDERS:
        assert (standin_dir / 'smplx' / f'SMPLX_{gender}.npz').is_file()
    assert 'NOT SMPL-X' in (standin_dir / standin.STANDIN_MARKER).read_text()
    assert standin.is_standin_body_model(standin_dir)
    assert [p.name for p in standin_dir.parent.iterdir()] == ['body_models']  # no temp dirs


def test_arrays_match_the_smplx_file_format(neutral, body_model_path):
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as ref:
        assert sorted(neutral) == sorted(ref.files)
        for key in ref.files:
            assert neutral[key].shape == ref[key].shape, key
            assert neutral[key].dtype == ref[key].dtype, key
    np.testing.assert_array_equal(neutral['kintree_table'][0], standin.SMPLX_PARENTS)


def test_regressor_and_skinning_are_convex(neutral):
    j_reg, weights = neutral['J_regressor'], neutral['weights']
    assert (j_reg >= 0).all() and np.allclose(j_reg.sum(1), 1, atol=1e-5)
    assert (weights >= 0).all() and np.allclose(weights.sum(1), 1, atol=1e-5)
    assert (weights > 0).sum(1).max() <= 3
    faces = neutral['f'].astype(np.int64)
    assert len(np.unique(faces)) == standin.NUM_VERTICES  # every vertex is used
    assert len(np.unique(np.sort(faces, 1), axis=0)) == standin.NUM_FACES
    np.testing.assert_allclose(neutral['hands_componentsl'] @ neutral['hands_componentsl'].T,
                               np.eye(45), atol=1e-5)
    np.testing.assert_allclose(neutral['hands_meanr'].reshape(15, 3),
                               neutral['hands_meanl'].reshape(15, 3) * [1, -1, -1])


def test_hard_coded_vertex_ids_sit_on_the_right_parts(neutral):
    v = neutral['v_template']
    ids = standin.SMPLX_VERTEX_IDS
    head = v[:, 1] > 0.2
    assert ids['nose'] == int(np.argmax(np.where(head, v[:, 2], -np.inf)))
    assert v[ids['leye'], 0] > 0.01 and v[ids['reye'], 0] < -0.01
    assert v[ids['leye'], 1] > v[ids['nose'], 1] and v[ids['leye'], 2] > 0.1
    assert v[ids['lear'], 0] == pytest.approx(v[head, 0].max(), abs=0.01)
    assert v[ids['rear'], 0] == pytest.approx(v[head, 0].min(), abs=0.01)
    for side, sign in (('l', 1), ('r', -1)):
        tips = v[[ids[f'{side}{f}'] for f in ('thumb', 'index', 'middle', 'ring', 'pinky')]]
        assert (sign * tips[:, 0] > 0.75).all()
        assert ids[f'{side}middle'] == int(np.argmax(sign * v[:, 0]))
        toe_big, toe_small, heel = (v[ids[f'{side.upper()}{k}']]
                                    for k in ('BigToe', 'SmallToe', 'Heel'))
        assert max(toe_big[1], toe_small[1], heel[1]) < -1.25
        assert toe_big[2] > 0.1 and toe_small[2] > 0.05 and heel[2] < -0.03
        assert sign * toe_big[0] < sign * toe_small[0]  # big toe is medial


def test_smplx_loads_every_gender_with_144_joints(standin_dir):
    smplx = pytest.importorskip('smplx')
    heights = {}
    for gender in standin.GENDERS:
        layer = smplx.create(str(standin_dir), 'smplx', gender=gender, use_pca=False,
                             use_face_contour=True)
        out = layer(body_pose=torch.full((1, 63), 0.1), jaw_pose=torch.tensor([[0.2, 0, 0]]),
                    betas=torch.ones(1, 10), expression=torch.ones(1, 10))
        assert out.vertices.shape == (1, standin.NUM_VERTICES, 3)
        assert out.joints.shape == (1, 144, 3)
        assert layer.faces.shape == (standin.NUM_FACES, 3)
        assert torch.isfinite(out.joints).all()
        rest = layer().vertices[0]
        heights[gender] = float(rest[:, 1].max() - rest[:, 1].min())
    assert heights['MALE'] > heights['NEUTRAL'] > heights['FEMALE'] > 1.5


def test_rest_joints_are_where_a_body_has_them(standin_dir, neutral):
    joints = neutral['J_regressor'] @ neutral['v_template']
    names = dict(pelvis=0, l_knee=4, l_ankle=7, neck=12, head=15, l_wrist=20, r_wrist=21)
    assert joints[names['l_wrist'], 0] > 0.6 and joints[names['r_wrist'], 0] < -0.6
    assert joints[names['l_ankle'], 1] < joints[names['l_knee'], 1] < joints[0, 1]
    assert joints[0, 1] < joints[names['neck'], 1] < joints[names['head'], 1]
    np.testing.assert_allclose(joints[1::3][:5, 0], -joints[2::3][:5, 0], atol=1e-4)


def test_auxiliary_files_load_like_the_official_code(standin_dir, neutral):
    smplx_dir = standin_dir / 'smplx'
    with open(smplx_dir / 'SMPLX_to_J14.pkl', 'rb') as f:
        j14 = pickle.load(f, encoding='latin1')
    with open(smplx_dir / 'MANO_SMPLX_vertex_ids.pkl', 'rb') as f:
        hands = pickle.load(f, encoding='latin1')
    flame = np.load(smplx_dir / 'SMPL-X__FLAME_vertex_ids.npy')
    assert j14.shape == (14, standin.NUM_VERTICES) and j14.dtype == np.float32
    assert np.allclose(j14.sum(1), 1, atol=1e-5) and (j14 >= 0).all()
    np.testing.assert_allclose(j14[0], neutral['J_regressor'][8], atol=1e-6)  # right ankle
    v = neutral['v_template']
    assert set(hands) == {'left_hand', 'right_hand'}
    for key, sign in (('left_hand', 1), ('right_hand', -1)):
        ids = hands[key]
        assert ids.shape == (778, ) and len(np.unique(ids)) == 778
        assert (sign * v[ids, 0] > 0.6).all()
    assert flame.shape == (5023, ) and len(np.unique(flame)) == 5023
    assert (v[flame, 1] > 0.15).all()
    for lmk in (neutral['lmk_faces_idx'], neutral['dynamic_lmk_faces_idx']):
        assert (v[neutral['f'][lmk].astype(np.int64)][..., 1] > 0.15).all()


def test_generation_is_deterministic():
    a = standin.build_standin_arrays('FEMALE', seed=3)
    b = standin.build_standin_arrays('FEMALE', seed=3)
    for key in a:
        assert hashlib.sha256(a[key].tobytes()).digest() == hashlib.sha256(
            b[key].tobytes()).digest(), key


def test_never_replaces_a_real_model_folder(tmp_path, standin_dir):
    real = tmp_path / 'real'
    (real / 'smplx').mkdir(parents=True)
    (real / 'smplx' / 'SMPLX_NEUTRAL.npz').write_bytes(b'real model')
    with pytest.raises(FileExistsError, match='not a stand-in folder'):
        standin.make_standin_body_model(real, overwrite=True)
    assert (real / 'smplx' / 'SMPLX_NEUTRAL.npz').read_bytes() == b'real model'
    assert load_cli().main([str(real)]) == 1


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    files = {'smplx/SMPLX_NEUTRAL.npz': b'x', 'STANDIN.txt': b'y'}
    monkeypatch.setattr(standin, 'standin_files', lambda seed=0: files)
    calls = []
    original = Path.write_bytes

    def failing(self, data):
        calls.append(self)
        if len(calls) == 2:
            raise OSError('disk full')
        return original(self, data)

    monkeypatch.setattr(Path, 'write_bytes', failing)
    with pytest.raises(OSError, match='disk full'):
        standin.make_standin_body_model(tmp_path / 'bm')
    assert list(tmp_path.iterdir()) == []


def test_ensure_reuses_and_replaces_incomplete_folders(tmp_path, monkeypatch):
    made = []
    small = {'smplx/SMPLX_NEUTRAL.npz': b'x', 'STANDIN.txt': b'note'}
    manifest = json.dumps({'format_version': standin.FORMAT_VERSION,
                           'files': {'smplx/SMPLX_NEUTRAL.npz': ''}}).encode()
    monkeypatch.setattr(standin, 'standin_files',
                        lambda seed=0: made.append(seed) or {**small, 'manifest.json': manifest})
    target = tmp_path / 'cache'
    assert standin.ensure_standin_body_model(target) == target
    assert standin.ensure_standin_body_model(target) == target
    assert made == [0]
    (target / 'smplx' / 'SMPLX_NEUTRAL.npz').unlink()  # incomplete: regenerate
    assert not standin.is_standin_body_model(target)
    standin.ensure_standin_body_model(target)
    assert made == [0, 0] and standin.is_standin_body_model(target)
