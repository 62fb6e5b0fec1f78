import numpy as np
import pytest
import torch
import torch.nn as nn

from smplestx.models.body_models import SMPLBodyModel, SMPLXBodyModel
from smplestx.models.utils import get_camera_trans, rot6d_to_axis_angle
from smplestx.registry import MODELS
from smplestx.utils.body_model_files import BodyModelFilesError

TOL = dict(atol=1e-5, rtol=1e-5)
COORD_INPUTS = ('root_pose', 'body_pose', 'lhand_pose', 'rhand_pose', 'jaw_pose', 'shape', 'expr',
                'cam_trans')


@pytest.fixture(scope='module')
def smplx_model(body_model_path):
    return SMPLXBodyModel(str(body_model_path))


def _coord_inputs(io):
    return [torch.from_numpy(io[f'helpers/get_coord/input/{k}']) for k in COORD_INPUTS]


def test_get_coord_matches_official(smplx_model, official_io):
    out = smplx_model.get_coord(*_coord_inputs(official_io))
    assert set(out) == {'joint_proj', 'joint_cam', 'joint_cam_wo_ra', 'mesh_cam', 'root_cam'}
    for key, value in out.items():
        expected = official_io[f'helpers/get_coord/output/{key}']
        assert value.shape == expected.shape, key
        np.testing.assert_allclose(value.numpy(), expected, err_msg=key, **TOL)


def test_forward_joints_match_official_layer(smplx_model, official_io):
    out = smplx_model(*_coord_inputs(official_io))
    np.testing.assert_allclose(out['joints'].numpy(),
                               official_io['helpers/smplx_layer/output/joints'], **TOL)
    assert out['vertices'].shape == (2, smplx_model.num_vertices, 3)


def test_decoder_outputs_to_official_test_outputs(smplx_model, official_io):
    """Raw 6D/cam/betas of the official decoder -> the official test-mode mesh and joints."""
    def dec(k):
        return torch.from_numpy(official_io[f'test/intermediate/decoder/{k}'])

    def aa(x):
        return rot6d_to_axis_angle(x.reshape(-1, 6)).reshape(x.shape[0], -1)

    cam_trans = get_camera_trans(dec('body_cam'))
    out = smplx_model.get_coord(aa(dec('body_root_pose')), aa(dec('body_pose')),
                                aa(dec('lhand_pose')), aa(dec('rhand_pose')),
                                aa(dec('face_jaw_pose')), dec('body_betas'),
                                dec('face_expression'), cam_trans)
    for ours, theirs in (('mesh_cam', 'smplx_mesh_cam'), ('joint_proj', 'smplx_joint_proj'),
                         ('joint_cam_wo_ra', 'smplx_joint_cam')):
        np.testing.assert_allclose(out[ours].numpy(), official_io[f'test/out/{theirs}'],
                                   err_msg=ours, **TOL)


def test_part_relative_joints(smplx_model, official_io):
    out = smplx_model.get_coord(*_coord_inputs(official_io))
    wo_ra, ra = out['joint_cam_wo_ra'], out['joint_cam']
    torch.testing.assert_close(ra[:, :25], wo_ra[:, :25])
    torch.testing.assert_close(ra[:, 25:45], wo_ra[:, 25:45] - wo_ra[:, 12:13])
    torch.testing.assert_close(ra[:, 45:65], wo_ra[:, 45:65] - wo_ra[:, 13:14])
    torch.testing.assert_close(ra[:, 65:], wo_ra[:, 65:] - wo_ra[:, 7:8])
    pelvis = smplx_model(*_coord_inputs(official_io))['joints'][:, :1]
    torch.testing.assert_close(out['root_cam'], pelvis)


def test_keep_all_joints(smplx_model, official_io):
    out = smplx_model.get_coord(*_coord_inputs(official_io), keep_all_joints=True)
    joints = torch.from_numpy(official_io['helpers/smplx_layer/output/joints'])
    assert out['joint_proj'].shape == (2, 144, 2)
    np.testing.assert_allclose(out['joint_cam_wo_ra'].numpy(),
                               (joints - joints[:, :1]).numpy(), **TOL)
    # joints beyond the 137 ranges stay pelvis-relative
    torch.testing.assert_close(out['joint_cam'][:, 137:], out['joint_cam_wo_ra'][:, 137:])


def test_state_dict_has_no_body_model_keys(smplx_model):
    assert len(list(smplx_model.buffers())) >= 17
    assert smplx_model.state_dict() == {}

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.head = nn.Linear(2, 2)
            self.body_model = smplx_model

    net = Net()
    assert set(net.state_dict()) == {'head.weight', 'head.bias'}
    net.load_state_dict({'head.weight': torch.zeros(2, 2), 'head.bias': torch.zeros(2)},
                        strict=True)


def test_faces_and_sizes(smplx_model):
    assert smplx_model.faces.shape == (20908, 3) and smplx_model.faces.dtype == np.int64
    assert smplx_model.num_vertices == 10475
    assert smplx_model.J_regressor.shape == (55, 10475)


def test_double_precision_follows_module(body_model_path, official_io):
    model = SMPLXBodyModel(str(body_model_path)).double()
    inputs = [x.double() for x in _coord_inputs(official_io)]
    out = model.get_coord(*inputs)
    assert out['mesh_cam'].dtype == torch.float64
    np.testing.assert_allclose(out['mesh_cam'].numpy(),
                               official_io['helpers/get_coord/output/mesh_cam'], atol=1e-4)


def test_build_from_registry_and_env(body_model_path, monkeypatch):
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
    model = MODELS.build(dict(type='SMPLXBodyModel', gender='female'))
    assert isinstance(model, SMPLXBodyModel) and model.gender == 'female'


def test_missing_files_give_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(BodyModelFilesError) as err:
        SMPLXBodyModel(str(tmp_path))
    assert 'smplx/SMPLX_NEUTRAL.npz' in str(err.value) and '\n' not in str(err.value)
    monkeypatch.delenv('SMPLESTX_BODY_MODELS', raising=False)
    with pytest.raises(BodyModelFilesError, match='SMPLESTX_BODY_MODELS'):
        SMPLXBodyModel()
    with pytest.raises(BodyModelFilesError, match='smpl/SMPL_MALE.pkl'):
        SMPLBodyModel(str(tmp_path), gender='male')


def test_bad_gender(body_model_path):
    with pytest.raises(ValueError, match='gender'):
        SMPLXBodyModel(str(body_model_path), gender='kid')


def test_smpl_body_model(body_model_path):
    from smplestx.models.body_models import load_pickle_safely
    model = SMPLBodyModel(str(body_model_path), gender='neutral')
    assert model.state_dict() == {}
    assert model.faces.shape == (13776, 3) and model.num_vertices == 6890
    assert model.joint_regressor.shape == (24, 6890)
    zeros = torch.zeros(2, 3)
    out = model(zeros, torch.zeros(2, 69), torch.zeros(2, 10), transl=torch.ones(2, 3))
    assert out['joints'].shape == (2, 45, 3)
    data = load_pickle_safely(str(body_model_path / 'smpl' / 'SMPL_NEUTRAL.pkl'))
    np.testing.assert_allclose(out['vertices'][0].numpy(), data['v_template'] + 1.0, atol=1e-5)
