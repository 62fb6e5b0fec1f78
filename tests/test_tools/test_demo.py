import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from smplestx.apis import demo as demo_api
from smplestx.apis.detection import MMDET_MISSING
from smplestx.models.utils.checkpoint_conversion import load_official_checkpoint
from smplestx.testing.tools import load_tool
from smplestx.utils.body_model_files import BODY_MODELS_ENV
from smplestx.utils.standin_body_model import is_standin_body_model

ROOT = Path(__file__).resolve().parents[2]
DEMO = 'tools/demo.py'
IMAGE, VIDEO = ROOT / 'demo' / 'astronaut.jpg', ROOT / 'demo' / 'astronaut_pan.mp4'
NPZ_SHAPES = {'global_orient': (1, 3), 'body_pose': (1, 63), 'left_hand_pose': (1, 45),
              'right_hand_pose': (1, 45), 'jaw_pose': (1, 3), 'leye_pose': (1, 3),
              'reye_pose': (1, 3), 'betas': (1, 10), 'expression': (1, 10), 'transl': (1, 3),
              'focal': (2, ), 'princpt': (2, ), 'bbox': (4, ), 'crop_bbox': (4, ), 'score': (),
              'keypoints_2d': (137, 2), 'joints': (137, 3)}


@pytest.fixture(scope='module')
def standin_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('cache') / 'standin'


@pytest.fixture
def no_assets(monkeypatch):
    monkeypatch.setattr(demo_api, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)


def check_person_files(root, frame, with_mesh):
    people = frame['people']
    for person in people:
        with np.load(root / person['params']) as data:
            assert {k: data[k].shape for k in data.files} == NPZ_SHAPES
            assert np.isfinite(data['transl']).all()
            np.testing.assert_allclose(data['bbox'], person['bbox'], rtol=1e-6)
        if with_mesh:
            lines = (root / person['mesh']).read_text().splitlines()
            assert sum(line.startswith('v ') for line in lines) == 10475
            assert sum(line.startswith('f ') for line in lines) == 20908
        else:
            assert person['mesh'] is None


def no_temp_files(root):
    return not [n for _, _, names in os.walk(root) for n in names if n.startswith('.')]


def test_image_with_boxes_file_and_meshes(no_assets, tmp_path, standin_dir, capsys):
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'astronaut': [[20, 10, 260, 500, 0.9], [250, 60, 500, 500]]}))
    out = tmp_path / 'out'
    code = load_tool(DEMO).main([str(IMAGE), '--bboxes', str(boxes), '--out-dir', str(out),
                                 '--save-mesh', '--standin-dir', str(standin_dir), '--no-progress',
                                 '--device', 'cpu'])
    assert code == 0
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if line.startswith('notice:')]
    assert len(notices) == 1 and 'stand-in' in notices[0]
    assert is_standin_body_model(standin_dir)
    root = out / 'astronaut'
    index = json.loads((root / 'index.json').read_text())
    assert index['placeholder_weights'] and index['standin_body_model']
    assert index['num_frames'] == 1 and index['num_people'] == 2 and index['video'] is None
    frame = index['frames'][0]
    assert [p['score'] for p in frame['people']] == pytest.approx([1.0, 0.9])
    check_person_files(root, frame, with_mesh=True)
    vis = cv2.imread(str(root / frame['vis']))
    assert vis.shape == (512, 512, 3)
    assert np.abs(vis.astype(int) - cv2.imread(str(IMAGE)).astype(int)).mean() > 2
    assert no_temp_files(out)


def test_video_whole_image(no_assets, tmp_path, standin_dir):
    out = tmp_path / 'out'
    code = load_tool(DEMO).main([str(VIDEO), '--whole-image', '--out-dir', str(out),
                                 '--standin-dir', str(standin_dir), '--batch-size', '4',
                                 '--device', 'cpu'])
    assert code == 0
    root = out / 'astronaut_pan'
    index = json.loads((root / 'index.json').read_text())
    assert index['input_type'] == 'video' and index['fps'] == pytest.approx(10.0)
    assert index['num_frames'] == 20 and index['num_people'] == 20
    for i, frame in enumerate(index['frames']):
        assert frame['name'] == f'{i:06d}' and (root / frame['vis']).is_file()
        assert frame['people'][0]['bbox'] == [0, 0, 320, 240]
        check_person_files(root, frame, with_mesh=False)
    capture = cv2.VideoCapture(str(root / index['video']))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 20
    assert no_temp_files(out)


def test_checkpoint_of_another_size_is_one_line(official_tiny_path, tmp_path, standin_dir,
                                                capsys):
    # The tiny checkpoint, official and converted, into the ViT-S config.
    config = ROOT / 'configs' / 'smplestx' / 'smplestx_vit-s_16xb16-20e_h40-256x192.py'
    official = official_tiny_path / 'snapshot_0.pth.tar'
    converted = tmp_path / 'tiny.pth'
    torch.save({'state_dict': load_official_checkpoint(official)}, converted)
    for checkpoint in (official, converted):
        assert load_tool(DEMO).main([str(IMAGE), '--whole-image', '--config', str(config),
                                     '--checkpoint', str(checkpoint), '--out-dir', str(tmp_path),
                                     '--standin-dir', str(standin_dir), '--no-progress']) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith('error: ') and 'does not fit the model: it has embed_dim 32, '\
            'depth 2 but the model expects embed_dim 384, depth 12 (ViT-S)' in err[-1]


def test_no_render_writes_parameters_only(no_assets, tmp_path, standin_dir):
    out = tmp_path / 'out'
    assert load_tool(DEMO).main([str(IMAGE), '--whole-image', '--no-render', '--out-dir',
                                 str(out), '--standin-dir', str(standin_dir),
                                 '--no-progress']) == 0
    assert sorted(os.listdir(out / 'astronaut')) == ['index.json', 'smplx']


def test_errors_are_one_line(no_assets, tmp_path, standin_dir, capsys, monkeypatch):
    tool = load_tool(DEMO)
    monkeypatch.setitem(sys.modules, 'mmdet.apis', None)
    args = ['--out-dir', str(tmp_path), '--standin-dir', str(standin_dir)]
    assert tool.main([str(IMAGE)] + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f'error: {MMDET_MISSING}'
    assert tool.main([str(tmp_path / 'missing.jpg'), '--whole-image'] + args) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith('error: input')
    assert tool.main([str(IMAGE), '--whole-image', '--checkpoint', 'none.pth'] + args) == 2
    assert 'checkpoint none.pth does not exist' in capsys.readouterr().err
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'\x00not a checkpoint')
    assert tool.main([str(IMAGE), '--whole-image', '--checkpoint', str(junk)] + args) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'error: {junk} is not a torch checkpoint: neither a torch zip archive nor a legacy '
        f'torch.save file')
    bad = tmp_path / 'bad.json'
    bad.write_text('[[1, 2, 3]]')
    assert tool.main([str(IMAGE), '--bboxes', str(bad)] + args) == 2
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / 'astronaut').exists()
