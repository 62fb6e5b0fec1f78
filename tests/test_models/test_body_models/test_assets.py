import os
import pickle
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from smplestx.models.body_models import (
    SMPLBodyModel,
    SMPLXBodyModel,
    UnsafePickleError,
    check_npz_safe,
    load_pickle_safely,
    load_smplx_assets,
)
from smplestx.utils.body_model_files import BodyModelFilesError, BodyModelFormatError


class _Evil:

    def __reduce__(self):
        return (os.system, ('touch evil_marker', ))


@pytest.fixture(scope='module')
def assets(body_model_path):
    return load_smplx_assets(str(body_model_path))


def test_asset_shapes(assets, body_model_path):
    assert assets.j14_regressor.shape == (14, 10475) and assets.j14_regressor.dtype == np.float32
    for side in ('left', 'right'):
        assert assets.hand_vertex_ids[side].shape == (778, )
        assert assets.hand_vertex_ids[side].dtype == np.int64
        assert assets.hand_regressors[side].shape == (21, 10475)
    assert assets.face_vertex_ids.shape == (5023, ) and assets.face_vertex_ids.dtype == np.int64
    assert assets.J_regressor.shape == (55, 10475) and assets.J_regressor.dtype == np.float32
    assert assets.faces.shape == (20908, 3) and assets.faces.dtype == np.int64
    assert assets.parents.shape == (55, ) and assets.parents[0] == -1
    assert assets.num_vertices == 10475
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as data:
        np.testing.assert_array_equal(assets.J_regressor, data['J_regressor'])


def test_hand_regressor_layout(assets):
    left = assets.hand_regressors['left']
    np.testing.assert_array_equal(left[0], assets.J_regressor[20])
    np.testing.assert_array_equal(left[1:4], assets.J_regressor[[37, 38, 39]])
    tips = {4: 5361, 8: 4933, 12: 5058, 16: 5169, 20: 5286}
    for row, vertex in tips.items():
        assert left[row, vertex] == 1.0 and left[row].sum() == 1.0
    right = assets.hand_regressors['right']
    np.testing.assert_array_equal(right[0], assets.J_regressor[21])
    assert right[4, 8079] == 1.0 and right[20, 8022] == 1.0


def test_hand_regressor_tips_equal_official_vertex_joints(assets, official_io):
    # rows 4, 8, .., 20 pick the fingertip vertices = smplx vertex joints 66..70 / 71..75
    mesh = official_io['helpers/get_coord/output/mesh_cam']
    joints = official_io['helpers/smplx_layer/output/joints']
    for side, first in (('left', 66), ('right', 71)):
        tips = np.einsum('jv,bvc->bjc', assets.hand_regressors[side][4::4], mesh)
        np.testing.assert_allclose(tips, joints[:, first:first + 5], atol=1e-6)


def test_missing_aux_file_one_line_error(body_model_path, tmp_path):
    (tmp_path / 'smplx').mkdir()
    for name in ('SMPLX_NEUTRAL.npz', 'MANO_SMPLX_vertex_ids.pkl',
                 'SMPL-X__FLAME_vertex_ids.npy'):
        os.symlink(body_model_path / 'smplx' / name, tmp_path / 'smplx' / name)
    with pytest.raises(BodyModelFilesError) as err:
        load_smplx_assets(str(tmp_path))
    message = str(err.value)
    assert 'smplx/SMPLX_to_J14.pkl' in message and '\n' not in message
    assert 'MANO_SMPLX_vertex_ids' not in message


@pytest.mark.parametrize('protocol', [0, 2, 4, 5])
def test_plain_and_sparse_pickles_load(tmp_path, protocol):
    obj = {'J_regressor': sp.csc_matrix(np.eye(4, dtype=np.float32)), 'v': np.arange(6.0),
           'k': np.float32(2.5), 'names': ['a', ('b', 1)]}
    path = tmp_path / 'model.pkl'
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    out = load_pickle_safely(str(path))
    assert sp.issparse(out['J_regressor'])
    np.testing.assert_array_equal(out['J_regressor'].toarray(), np.eye(4))
    np.testing.assert_array_equal(out['v'], np.arange(6.0))
    assert out['k'] == 2.5 and out['names'] == ['a', ('b', 1)]


def test_python2_style_names_are_mapped(tmp_path):
    data = pickle.dumps({'J': sp.csc_matrix(np.eye(2)), 'v': np.ones(2)}, protocol=1)
    data = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    data = data.replace(b'scipy.sparse._csc', b'scipy.sparse.csc')
    assert b'copy_reg' in data and b'__builtin__' in data
    path = tmp_path / 'py2.pkl'
    path.write_bytes(data)
    out = load_pickle_safely(str(path))
    np.testing.assert_array_equal(out['J'].toarray(), np.eye(2))


def test_chumpy_pickle_is_refused(tmp_path):
    path = tmp_path / 'SMPL_NEUTRAL.pkl'
    # protocol 2: GLOBAL chumpy.ch Ch, EMPTY_TUPLE, NEWOBJ, STOP
    path.write_bytes(b'\x80\x02cchumpy.ch\nCh\n)\x81.')
    with pytest.raises(UnsafePickleError) as err:
        load_pickle_safely(str(path))
    message = str(err.value)
    assert str(path) in message and 'chumpy.ch.Ch' in message and '\n' not in message


def test_code_execution_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(UnsafePickleError, match='system'):
        load_pickle_safely(str(path))
    assert not (tmp_path / 'evil_marker').exists()


def test_check_npz_safe(tmp_path, body_model_path, monkeypatch):
    good = tmp_path / 'good.npz'
    np.savez(good, a=np.ones(3), meta=np.array({'joint2num': np.arange(3)}, dtype=object))
    check_npz_safe(str(good))
    check_npz_safe(str(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz'))

    monkeypatch.chdir(tmp_path)
    bad = tmp_path / 'bad.npz'
    np.savez(bad, a=np.ones(3), payload=np.array([_Evil()], dtype=object))
    with pytest.raises(UnsafePickleError, match='payload'):
        check_npz_safe(str(bad))
    assert not (tmp_path / 'evil_marker').exists()


def test_body_model_refuses_poisoned_npz(tmp_path, body_model_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'smplx').mkdir()
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as data:
        arrays = {k: data[k] for k in data.files}
    arrays['part2num'] = np.array([_Evil()], dtype=object)
    np.savez(tmp_path / 'smplx' / 'SMPLX_NEUTRAL.npz', **arrays)
    with pytest.raises(UnsafePickleError, match='SMPLX_NEUTRAL.npz'):
        SMPLXBodyModel(str(tmp_path))
    assert not (tmp_path / 'evil_marker').exists()


def test_fixture_pickles_load(body_model_path):
    j14 = load_pickle_safely(str(body_model_path / 'smplx' / 'SMPLX_to_J14.pkl'))
    assert isinstance(j14, np.ndarray) and j14.shape == (14, 10475)
    smpl = load_pickle_safely(str(body_model_path / 'smpl' / 'SMPL_MALE.pkl'))
    assert smpl['J_regressor'].shape == (24, 6890)


def _model_folder(tmp_path, body_model_path, change):
    """A copy of the stand-in SMPL-X folder whose neutral model ``change`` edits."""
    folder = tmp_path / 'models'
    shutil.copytree(body_model_path, folder)
    path = folder / 'smplx' / 'SMPLX_NEUTRAL.npz'
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(path, **arrays)
    return folder, path


@pytest.mark.parametrize('change,problem', [
    (lambda a: a.pop('posedirs'), r'lacks the array\(s\) posedirs; is it an SMPL-X model file'),
    (lambda a: a.update(weights=a['weights'][:, :54]),
     r"array 'weights' of shape \(10475, 54\) has J = 54 but 55 elsewhere"),
    (lambda a: a.update(v_template=a['v_template'][:, :2]),
     r"array 'v_template' of shape \(10475, 2\) has size 2 where 3 is expected"),
    (lambda a: a['shapedirs'].__setitem__((5, 1, 3), np.nan),
     r"array 'shapedirs' of shape \(10475, 3, 20\) has 1 NaN or infinite value"),
    (lambda a: a.update(f=a['f'] + 20000), r'faces index vertices outside \[0, 10475\)'),
])
def test_unusable_smplx_model_files_are_one_line_errors(tmp_path, body_model_path, change,
                                                        problem):
    folder, path = _model_folder(tmp_path, body_model_path, change)
    for build in (lambda: SMPLXBodyModel(str(folder)), lambda: load_smplx_assets(str(folder))):
        with pytest.raises(BodyModelFormatError, match=rf'^{path}: {problem}|^{path} {problem}'):
            build()


@pytest.mark.parametrize('change,problem', [
    (lambda d: d.pop('weights'), r'lacks the array\(s\) weights; is it an SMPL model file'),
    (lambda d: d['v_template'].__setitem__((7, 1), np.inf),
     r"array 'v_template' of shape \(6890, 3\) has 1 NaN or infinite value"),
    (lambda d: d.update(posedirs=d['posedirs'][..., :200]),
     r'posedirs has 200 pose directions but 24 joints need 207'),
    (lambda d: d.update(J_regressor=sp.csc_matrix(d['J_regressor'][:, :6000])),
     r"array 'J_regressor' of shape \(24, 6000\) has V = 6000 but 6890 elsewhere"),
])
def test_unusable_smpl_model_files_are_one_line_errors(tmp_path, body_model_path, change,
                                                       problem):
    folder = tmp_path / 'models'
    shutil.copytree(body_model_path, folder)
    path = folder / 'smpl' / 'SMPL_NEUTRAL.pkl'
    data = load_pickle_safely(str(path))
    change(data)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    with pytest.raises(BodyModelFormatError, match=rf'^{path}: {problem}|^{path} {problem}'):
        SMPLBodyModel(str(folder))


def test_a_sparse_smpl_regressor_is_accepted(tmp_path, body_model_path):
    """The real SMPL files hold ``J_regressor`` as a scipy sparse matrix."""
    folder = tmp_path / 'models'
    shutil.copytree(body_model_path, folder)
    path = folder / 'smpl' / 'SMPL_NEUTRAL.pkl'
    data = load_pickle_safely(str(path))
    data['J_regressor'] = sp.csc_matrix(data['J_regressor'])
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    assert SMPLBodyModel(str(folder)).joint_regressor.shape == (24, 6890)


def test_a_pickled_member_is_named_and_not_unpickled(tmp_path, body_model_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder, path = _model_folder(tmp_path, body_model_path,
                                 lambda a: a.update(joint2num=np.array([_Evil()], dtype=object)))
    with pytest.raises(UnsafePickleError) as info:
        SMPLXBodyModel(str(folder))
    assert str(info.value).startswith(f'{path}[joint2num.npy] needs full unpickling (it contains '
                                      f'posix.system), which smplestx refuses')
    assert not (tmp_path / 'evil_marker').exists()
