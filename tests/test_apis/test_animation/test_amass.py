"""The AMASS-layout file poses ``smplx`` (flat_hand_mean=True) like the GLB, in a Z-up world."""

import numpy as np
import pytest
import smplx
import torch

#: Y-up export world -> AMASS Z-up world (+90 degrees about x), stated independently.
YUP_TO_ZUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def _pose(body_model_path, amass, flat_hand_mean):
    num = len(amass['poses'])
    model = smplx.create(str(body_model_path), 'smplx', gender=str(amass['gender']),
                         use_pca=False, flat_hand_mean=flat_hand_mean, num_betas=10,
                         num_expression_coeffs=10, batch_size=num)
    poses = torch.as_tensor(amass['poses'], dtype=torch.float32)
    with torch.no_grad():
        out = model(global_orient=poses[:, :3], body_pose=poses[:, 3:66],
                    jaw_pose=poses[:, 66:69], leye_pose=poses[:, 69:72],
                    reye_pose=poses[:, 72:75], left_hand_pose=poses[:, 75:120],
                    right_hand_pose=poses[:, 120:165],
                    betas=torch.as_tensor(np.tile(amass['betas'], (num, 1)),
                                          dtype=torch.float32),
                    expression=torch.as_tensor(amass['expression'], dtype=torch.float32),
                    transl=torch.as_tensor(amass['trans'], dtype=torch.float32))
    return out.joints[:, :55].double().numpy(), out.vertices.double().numpy()


def test_amass_file_layout_and_hand_mean(exported, body_model_path, smplx_reference):
    with np.load(exported['files']['amass']) as data:
        amass = {k: data[k] for k in data.files}
    clip, track = exported['clip'], exported['track']
    assert amass['poses'].shape == (clip.num_frames, 165)
    assert float(amass['mocap_frame_rate']) == exported['fps']
    assert str(amass['gender']) == 'neutral' and str(amass['surface_model_type']) == 'smplx'
    np.testing.assert_array_equal(amass['pose_hand'], amass['poses'][:, 75:])
    keys = [int(np.flatnonzero(clip.frame_index == f)[0]) for f in exported['frames']]
    joints_ref, verts_ref = smplx_reference(body_model_path, track, clip.transl[keys])
    joints, vertices = _pose(body_model_path, {**amass, 'poses': amass['poses'][keys],
                                               'trans': amass['trans'][keys],
                                               'expression': amass['expression'][keys]}, True)
    assert np.abs(joints - joints_ref @ YUP_TO_ZUP.T).max() < 1e-4
    assert np.abs(vertices - verts_ref @ YUP_TO_ZUP.T).max() < 1e-4
    # Read as relative to the hand mean, the fingers would get the mean twice.
    twice, _ = _pose(body_model_path, {**amass, 'poses': amass['poses'][keys],
                                       'trans': amass['trans'][keys],
                                       'expression': amass['expression'][keys]}, False)
    assert np.abs(twice - joints_ref @ YUP_TO_ZUP.T).max() > 1e-3


def test_smplcodec_loads_the_file(exported):
    """Meshcapade's smplcodec reads it as an SMPL-X AMASS file with the same poses."""
    codec = pytest.importorskip('smplcodec', reason='smplcodec (tests extra) reads AMASS files')
    loaded = codec.SMPLCodec.from_amass_npz(exported['files']['amass'])
    loaded.validate()
    clip = exported['clip']
    assert loaded.frame_count == clip.num_frames and loaded.frame_rate == exported['fps']
    assert loaded.smpl_version == codec.SMPLVersion.SMPLX
    with np.load(exported['files']['amass']) as amass:
        np.testing.assert_array_equal(loaded.body_pose.reshape(clip.num_frames, -1),
                                      amass['poses'][:, :66])
        np.testing.assert_array_equal(loaded.right_hand_pose.reshape(clip.num_frames, -1),
                                      amass['poses'][:, 120:])
        np.testing.assert_array_equal(loaded.body_translation, amass['trans'])
