import numpy as np
import pytest
import torch

from smplestx.models.utils.rotation import (
    batch_rodrigues,
    quaternion_to_rotmat,
    rot6d_to_axis_angle,
    rot6d_to_rotmat,
    rotmat_to_axis_angle,
    rotmat_to_quaternion,
)

TOL = dict(atol=1e-5, rtol=1e-5)


def _t(io, key):
    return torch.from_numpy(io[key])


def test_rot6d_to_axis_angle_matches_official(official_io):
    out = rot6d_to_axis_angle(_t(official_io, 'helpers/rot6d_to_axis_angle/input'))
    np.testing.assert_allclose(out.numpy(), official_io['helpers/rot6d_to_axis_angle/output'],
                               **TOL)


def test_rot6d_to_axis_angle_n3_quirk(official_io):
    x = _t(official_io, 'helpers/rot6d_to_axis_angle_n3/input')
    expected = official_io['helpers/rot6d_to_axis_angle_n3/output']
    quirk = rot6d_to_axis_angle(x, official_cross_quirk=True)
    np.testing.assert_allclose(quirk.numpy(), expected, **TOL)
    # with the switch off every row is converted on its own (the correct result)
    fixed = rot6d_to_axis_angle(x)
    per_row = torch.cat([rot6d_to_axis_angle(row[None]) for row in x])
    np.testing.assert_allclose(fixed.numpy(), per_row.numpy(), atol=1e-7)
    assert np.abs(fixed.numpy() - expected).max() > 1e-2
    # the quirk changes nothing when there are not exactly three rows
    x4 = torch.cat([x, x[:1]])
    torch.testing.assert_close(rot6d_to_axis_angle(x4, official_cross_quirk=True),
                               rot6d_to_axis_angle(x4))


@pytest.mark.parametrize('name', ['rot6d_to_rotmat', 'rot6d_to_rotmat_3d'])
def test_rot6d_to_rotmat_matches_official(official_io, name):
    out = rot6d_to_rotmat(_t(official_io, f'helpers/{name}/input'))
    expected = official_io[f'helpers/{name}/output']
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, **TOL)


def test_batch_rodrigues_matches_official(official_io):
    out = batch_rodrigues(_t(official_io, 'helpers/batch_rodrigues/input'))
    np.testing.assert_allclose(out.numpy(), official_io['helpers/batch_rodrigues/output'], **TOL)


@pytest.mark.parametrize('head,out_key', [('body_root_pose', 'smplx_root_pose'),
                                          ('body_pose', 'smplx_body_pose'),
                                          ('lhand_pose', 'smplx_lhand_pose'),
                                          ('rhand_pose', 'smplx_rhand_pose'),
                                          ('face_jaw_pose', 'smplx_jaw_pose')])
def test_decoder_6d_to_model_outputs(official_io, head, out_key):
    raw = _t(official_io, f'test/intermediate/decoder/{head}')
    aa = rot6d_to_axis_angle(raw.reshape(-1, 6)).reshape(raw.shape[0], -1)
    np.testing.assert_allclose(aa.numpy(), official_io[f'test/out/{out_key}'], **TOL)


def test_rotmat_properties_and_leading_dims():
    torch.manual_seed(0)
    x = torch.randn(4, 5, 6, dtype=torch.float64)
    rot = rot6d_to_rotmat(x)
    assert rot.shape == (4, 5, 3, 3) and rot.dtype == torch.float64
    eye = torch.eye(3, dtype=torch.float64).expand_as(rot)
    torch.testing.assert_close(rot.transpose(-1, -2) @ rot, eye)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(4, 5, dtype=torch.float64))
    # the first column is the normalised (x0, x2, x4)
    a1 = x[..., 0::2]
    torch.testing.assert_close(rot[..., 0], a1 / a1.norm(dim=-1, keepdim=True))
    aa = rot6d_to_axis_angle(x)
    assert aa.shape == (4, 5, 3)
    torch.testing.assert_close(batch_rodrigues(aa), rot)


def test_axis_angle_round_trip():
    torch.manual_seed(1)
    axis = torch.nn.functional.normalize(torch.randn(200, 3, dtype=torch.float64), dim=-1)
    angle = torch.rand(200, 1, dtype=torch.float64) * 3.1
    aa = axis * angle
    torch.testing.assert_close(rotmat_to_axis_angle(batch_rodrigues(aa)), aa)
    quat = rotmat_to_quaternion(batch_rodrigues(aa))
    torch.testing.assert_close(quaternion_to_rotmat(quat), batch_rodrigues(aa))
    # zero rotation -> identity and back to zero
    zero = torch.zeros(1, 3)
    torch.testing.assert_close(batch_rodrigues(zero), torch.eye(3)[None])
    torch.testing.assert_close(rotmat_to_axis_angle(torch.eye(3)[None]), zero)


def test_degenerate_input_gives_zero_not_nan():
    out = rot6d_to_axis_angle(torch.zeros(2, 6))
    assert torch.isfinite(out).all()


def test_gradients_flow():
    x = torch.randn(3, 6, requires_grad=True)
    batch_rodrigues(rot6d_to_axis_angle(x)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize('fn,shape', [(rot6d_to_rotmat, (2, 5)), (rot6d_to_axis_angle, (4, )),
                                      (batch_rodrigues, (2, 4)), (rotmat_to_axis_angle, (3, 4))])
def test_bad_shapes_raise(fn, shape):
    with pytest.raises(ValueError, match=fn.__name__):
        fn(torch.zeros(shape))
