import numpy as np
import pytest
import torch

from smplestx.structures.keypoint import smplx_conventions as conv


def test_137_set_sizes_and_parts():
    names = conv.SMPLX_137_JOINT_NAMES
    assert len(names) == 137 and len(set(names)) == 137
    parts = conv.SMPLX_137_PARTS
    assert [len(parts[k]) for k in ('body', 'lhand', 'rhand', 'face')] == [25, 20, 20, 72]
    assert list(parts['hand']) == list(parts['lhand']) + list(parts['rhand'])
    assert all(names[i].startswith('L_') for i in parts['lhand'])
    assert all(names[i].startswith('R_') for i in parts['rhand'])
    assert all(names[i].startswith('Face_') for i in parts['face'])
    assert names[conv.ROOT_IDX] == 'Pelvis' and names[conv.NECK_IDX] == 'Neck'
    assert names[conv.LWRIST_IDX] == 'L_Wrist' and names[conv.RWRIST_IDX] == 'R_Wrist'
    assert names[25:29] == ('L_Thumb_1', 'L_Thumb_2', 'L_Thumb_3', 'L_Thumb_4')


def test_137_index_maps():
    idx = conv.SMPLX_137_FROM_144
    assert len(idx) == 137 and max(idx) == 143
    # the eye vertex joints appear twice: as body L_Eye/R_Eye and as face eyeballs
    assert len(set(idx)) == 135
    assert (idx[22], idx[23]) == (57, 56) and idx[65:69] == (22, 15, 57, 56)
    assert idx[:3] == (0, 1, 2)
    # finger tips (vertex joints 66..75) are the 4th joint of every finger
    assert [idx[25 + 4 * f + 3] for f in range(5)] == [66, 67, 68, 69, 70]
    assert [idx[45 + 4 * f + 3] for f in range(5)] == [71, 72, 73, 74, 75]
    hd = conv.SMPLX_137_FROM_HUMANDATA
    diff = [i for i in range(137) if idx[i] != hd[i]]
    assert diff == [67, 68] and (hd[67], hd[68]) == (56, 57)


def test_137_flip_pairs_swap_sides():
    names = conv.SMPLX_137_JOINT_NAMES
    pairs = conv.SMPLX_137_FLIP_PAIRS
    flat = [i for p in pairs for i in p]
    assert len(flat) == len(set(flat))
    for a, b in pairs:
        if a < 65:  # named joints: L_x <-> R_x
            assert names[a].startswith('L_') and names[b] == 'R_' + names[a][2:]
    # symmetric joints are not paired
    for name in ('Pelvis', 'Neck', 'Nose'):
        assert names.index(name) not in flat


def test_rot53_set():
    names = conv.SMPLX_ROT53_JOINT_NAMES
    assert len(names) == 53 and len(set(names)) == 53
    parts = conv.SMPLX_ROT53_PARTS
    assert [len(parts[k]) for k in ('body', 'lhand', 'rhand', 'face')] == [22, 15, 15, 1]
    assert names[parts['lhand'][0]] == 'L_Index_1' and names[parts['face'][0]] == 'Jaw'
    assert names[conv.ROT53_LWRIST_IDX] == 'L_Wrist'
    assert names[conv.ROT53_RWRIST_IDX] == 'R_Wrist'
    assert names[conv.ROT53_LTHUMB1_IDX] == 'L_Thumb_1'
    assert names[conv.ROT53_RTHUMB1_IDX] == 'R_Thumb_1'
    for a, b in conv.SMPLX_ROT53_FLIP_PAIRS:
        assert names[a].startswith('L_') and names[b] == 'R_' + names[a][2:]
    assert len(conv.SMPLX_ROT53_FLIP_PAIRS) == 8 + 15


def test_body_parents_and_regressor_idx():
    parents = conv.SMPLX_BODY_PARENTS
    assert len(parents) == 22 and parents[0] == -1
    assert all(0 <= p < i for i, p in enumerate(parents) if i > 0)
    body = conv.SMPLX_BODY_JOINT_NAMES
    assert body[parents[body.index('L_Wrist')]] == 'L_Elbow'
    assert body[parents[body.index('R_Collar')]] == 'Spine_3'
    reg = conv.J_REGRESSOR_IDX
    assert [body[reg[k]] for k in ('pelvis', 'lwrist', 'rwrist', 'neck')] == [
        'Pelvis', 'L_Wrist', 'R_Wrist', 'Neck']


def test_hands_mean_mirror():
    left, right = conv.HANDS_MEAN_LEFT, conv.HANDS_MEAN_RIGHT
    assert left.shape == right.shape == (15, 3)
    np.testing.assert_allclose(left[:, 0], right[:, 0])
    np.testing.assert_allclose(left[:, 1:], -right[:, 1:])
    assert right[0, 2] == pytest.approx(0.41644183)


def test_lsp_mapping():
    assert len(conv.LSP14_FROM_SMPL24) == 14 and max(conv.LSP14_FROM_SMPL24) < 24


def test_137_from_144_matches_official_get_coord(official_io):
    joints = torch.from_numpy(official_io['helpers/smplx_layer/output/joints'])
    picked = joints[:, conv.SMPLX_137_FROM_144]
    expected = official_io['helpers/get_coord/output/joint_cam_wo_ra']
    np.testing.assert_allclose((picked - picked[:, :1]).numpy(), expected, atol=1e-6)


def test_hands_mean_matches_fixture_convention(body_model_path):
    # the synthetic model stores hands_meanr with the same mirror rule as the real constants
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as data:
        meanl = data['hands_meanl'].reshape(15, 3)
        meanr = data['hands_meanr'].reshape(15, 3)
    np.testing.assert_allclose(meanl * np.array([1, -1, -1]), meanr, atol=1e-6)
