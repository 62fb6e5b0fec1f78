import numpy as np
import pytest
import torch

from smplestx.models.utils.camera import (
    camera_depth_scale,
    crop_camera_to_image,
    get_camera_trans,
    project_to_heatmap,
)


def test_depth_scale_constant():
    assert camera_depth_scale() == pytest.approx(56.38186, abs=1e-5)


def test_get_camera_trans_matches_official(official_io):
    cam = torch.from_numpy(official_io['helpers/get_camera_trans/input'])
    np.testing.assert_allclose(get_camera_trans(cam).numpy(),
                               official_io['helpers/get_camera_trans/output'], atol=1e-5,
                               rtol=1e-5)
    body_cam = torch.from_numpy(official_io['test/intermediate/decoder/body_cam'])
    np.testing.assert_allclose(get_camera_trans(body_cam).numpy(),
                               official_io['test/out/cam_trans'], atol=1e-5, rtol=1e-5)


def test_get_camera_trans_formula_and_dtype():
    cam = torch.tensor([[0.5, -0.25, 0.0]], dtype=torch.float64)
    out = get_camera_trans(cam)
    assert out.dtype == torch.float64
    expected = [0.5, -0.25, 0.5 * camera_depth_scale()]
    np.testing.assert_allclose(out[0].numpy(), expected, rtol=1e-12)
    with pytest.raises(ValueError, match='get_camera_trans'):
        get_camera_trans(torch.zeros(2, 4))


def test_project_to_heatmap_matches_official_joint_proj(official_io):
    # joint_proj of get_coord = projection of the camera-frame 137 joints
    from smplestx.structures.keypoint import SMPLX_137_FROM_144
    joints = torch.from_numpy(official_io['helpers/smplx_layer/output/joints'])
    joints = joints[:, SMPLX_137_FROM_144]
    proj = project_to_heatmap(joints)
    np.testing.assert_allclose(proj.numpy(), official_io['helpers/get_coord/output/joint_proj'],
                               atol=1e-5, rtol=1e-5)
    # the official 3-tuple heatmap shape (D, H, W) gives the same result
    torch.testing.assert_close(project_to_heatmap(joints, output_hm_shape=(16, 16, 12)), proj)


def test_project_centre_and_units():
    pts = torch.tensor([[0.0, 0.0, 10.0], [0.01, 0.02, 10.0]])
    proj = project_to_heatmap(pts)
    torch.testing.assert_close(proj[0], torch.tensor([6.0, 8.0]))  # principal point = centre
    expected_u = (0.01 / (10.0 + 1e-4) * 5000 + 96) / 192 * 12
    assert proj[1, 0].item() == pytest.approx(expected_u, rel=1e-6)


def test_crop_camera_to_image_numpy_and_torch():
    box = np.array([[10.0, 20.0, 300.0, 400.0]])
    focal, princpt = crop_camera_to_image(box)
    np.testing.assert_allclose(focal, [[5000 / 192 * 300, 5000 / 256 * 400]])
    np.testing.assert_allclose(princpt, [[10 + 150, 20 + 200]])  # the box centre
    tf, tp = crop_camera_to_image(torch.from_numpy(box))
    np.testing.assert_allclose(tf.numpy(), focal)
    np.testing.assert_allclose(tp.numpy(), princpt)


def test_crop_camera_consistent_with_heatmap_projection():
    # a heatmap-unit point maps to the image through the box: u = x_hm * w / 12 + x
    box = np.array([30.0, 40.0, 240.0, 320.0])
    focal, princpt = crop_camera_to_image(box)
    point = torch.tensor([[0.1, -0.2, 8.0]], dtype=torch.float64)
    hm = project_to_heatmap(point)[0].numpy()
    u = focal[0] * 0.1 / 8.0 + princpt[0]
    v = focal[1] * -0.2 / 8.0 + princpt[1]
    np.testing.assert_allclose([u, v], [hm[0] * 240 / 12 + 30, hm[1] * 320 / 16 + 40], rtol=1e-4)
