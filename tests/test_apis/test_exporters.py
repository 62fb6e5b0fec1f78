import json
import os

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from smplestx.apis.exporters import SMPLX_PARAM_SIZES, ResultWriter, person_arrays


def person(seed=0, **extra):
    rng = np.random.default_rng(seed)
    out = dict(global_orient=rng.normal(size=(1, 3)), body_pose=rng.normal(size=(1, 21, 3)),
               left_hand_pose=rng.normal(size=(1, 15, 3)),
               right_hand_pose=torch.zeros(1, 15, 3), jaw_pose=np.zeros(3),
               betas=np.ones((1, 10)), expression=np.zeros(10), transl=[[0.0, 0.1, 20.0]],
               focal=[[1000.0, 1000.0]], princpt=[[100.0, 120.0]], bbox=[1, 2, 30, 40],
               score=0.9, crop_bbox=[0, 0, 40, 50], vertices=rng.normal(size=(1, 6, 3)),
               keypoints_2d=rng.normal(size=(1, 137, 2)))
    out.update(extra)
    return out


def test_person_arrays_use_smplx_names_and_batch_one():
    fields = {k: np.asarray(v).reshape(1, -1) for k, v in person().items()
              if k not in ('vertices', 'keypoints_2d')}
    fields['keypoints_2d'] = np.asarray(person()['keypoints_2d'])
    arrays = person_arrays(InstanceData(**fields))
    for key, size in SMPLX_PARAM_SIZES.items():
        assert arrays[key].shape == (1, size) and arrays[key].dtype == np.float32
    assert not arrays['leye_pose'].any()
    assert arrays['focal'].shape == (2, ) and arrays['princpt'].shape == (2, )
    assert arrays['bbox'].shape == (4, ) and arrays['crop_bbox'].shape == (4, )
    assert arrays['score'].shape == () and arrays['score'] == pytest.approx(0.9)
    assert arrays['keypoints_2d'].shape == (137, 2)
    assert 'vertices' not in arrays


def test_person_arrays_errors():
    bad = person()
    del bad['betas']
    with pytest.raises(KeyError, match="'betas'"):
        person_arrays(bad)
    with pytest.raises(ValueError, match="'body_pose' must have 63 values"):
        person_arrays(person(body_pose=np.zeros(60)))
    no_cam = person()
    del no_cam['focal']
    with pytest.raises(KeyError, match="camera 'focal'"):
        person_arrays(no_cam)


def test_writer_outputs_and_index(tmp_path):
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    writer = ResultWriter(str(tmp_path / 'res'), faces=faces, save_mesh=True)
    vis = np.zeros((8, 8, 3), np.uint8)
    writer.add_frame(0, '000000', [person(0), person(1, score=None)], (240, 320), vis_image=vis)
    writer.add_frame(1, '000001', [], (240, 320))
    path = writer.write_index({'input': 'x.mp4', 'fps': 10.0})
    index = json.loads(open(path).read())
    assert index['num_frames'] == 2 and index['num_people'] == 2 and index['fps'] == 10.0
    first = index['frames'][0]
    assert first['vis'] == 'vis/000000.jpg' and first['image_size'] == [240, 320]
    assert [p['params'] for p in first['people']] == ['smplx/000000_00.npz',
                                                      'smplx/000000_01.npz']
    assert first['people'][1]['score'] is None and first['people'][0]['bbox'] == [1, 2, 30, 40]
    root = tmp_path / 'res'
    for rel in ('smplx/000000_00.npz', 'smplx/000000_01.npz', 'mesh/000000_00.obj',
                'mesh/000000_01.obj', 'vis/000000.jpg'):
        assert (root / rel).is_file(), rel
    with np.load(root / 'smplx/000000_00.npz') as data:
        np.testing.assert_allclose(data['body_pose'], person(0)['body_pose'].reshape(1, 63),
                                   rtol=1e-6)
    obj = (root / 'mesh/000000_00.obj').read_text().splitlines()
    assert sum(line.startswith('v ') for line in obj) == 6 and obj[-1] == 'f 4 5 6'
    assert not [p for p in os.listdir(root) if p.startswith('.')]


def test_tracked_people_get_one_sequence_file_each(tmp_path):
    writer = ResultWriter(str(tmp_path / 'res'))
    # Track 7 in frames 0, 1 and 3 (not found in frame 2); track 2 in frame 1 only.
    writer.add_frame(0, '000000', [person(0, track_id=7)], (240, 320))
    writer.add_frame(1, '000001', [person(1, track_id=2), person(2, track_id=7)], (240, 320))
    writer.add_frame(2, '000002', [], (240, 320))
    writer.add_frame(3, '000003', [person(3, track_id=7, bbox=None)], (240, 320))
    index = json.loads(open(writer.write_index({'fps': 25.0})).read())
    assert index['tracks'] == [
        {'id': 2, 'file': 'tracks/track_0002.npz', 'num_frames': 1, 'first_frame': 1,
         'last_frame': 1},
        {'id': 7, 'file': 'tracks/track_0007.npz', 'num_frames': 3, 'first_frame': 0,
         'last_frame': 3}]
    with np.load(tmp_path / 'res' / 'tracks' / 'track_0007.npz') as track:
        assert track['frame_index'].tolist() == [0, 1, 3] and float(track['fps']) == 25.0
        for key, size in SMPLX_PARAM_SIZES.items():
            assert track[key].shape == (3, size), key
        for row, seed in enumerate((0, 2, 3)):  # the same values as the per-frame files
            np.testing.assert_allclose(track['body_pose'][row],
                                       person(seed)['body_pose'].reshape(63), rtol=1e-6)
        assert track['focal'].shape == (3, 2) and track['score'].shape == (3, )
        assert 'bbox' not in track  # frame 3 has none
    # Untracked results write no track files.
    untracked = ResultWriter(str(tmp_path / 'plain'))
    untracked.add_frame(0, '000000', [person(0)], (240, 320))
    assert 'tracks' not in json.loads(open(untracked.write_index()).read())
    assert not (tmp_path / 'plain' / 'tracks').exists()


def test_writer_needs_faces_for_meshes(tmp_path):
    with pytest.raises(ValueError, match='faces'):
        ResultWriter(str(tmp_path), save_mesh=True)
