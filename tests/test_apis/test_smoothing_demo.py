"""``tools/demo.py --track/--smooth`` end to end on a short generated video (tiny model)."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import smplx
import torch

from smplestx.apis.exporters import SMPLX_PARAM_SIZES
from smplestx.structures.keypoint.smplx_conventions import SMPLX_137_FROM_144
from smplestx.testing.tools import load_tool
from smplestx.utils.body_model_files import BODY_MODELS_ENV

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'demo' / 'astronaut.jpg'
TINY = ROOT / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
FRAMES = 5


def person_boxes(i: int) -> list:
    """Two people crossing: A (tall) walks right, B (short) walks left; order alternates."""
    a = [20 + 8 * i, 10, 80 + 8 * i, 115]
    b = [90 - 8 * i, 30, 140 - 8 * i, 110]
    return [b, a] if i % 2 else [a, b]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, body_model_path, official_tiny_path):
    tmp = tmp_path_factory.mktemp('smoothing_demo')
    video = tmp / 'walk.mp4'
    image = cv2.resize(cv2.imread(str(IMAGE)), (160, 120))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 10.0, (160, 120))
    for i in range(FRAMES):
        writer.write(np.roll(image, 3 * i, axis=1))
    writer.release()
    boxes = tmp / 'boxes.json'
    boxes.write_text(json.dumps({f'{i:06d}': person_boxes(i) for i in range(FRAMES)}))
    common = [str(video), '--bboxes', str(boxes), '--config', str(TINY), '--checkpoint',
              str(official_tiny_path / 'snapshot_0.pth.tar'), '--body-model-dir',
              str(body_model_path), '--device', 'cpu', '--no-progress', '--batch-size', '4',
              '--save-mesh']
    tool = load_tool('tools/demo.py')
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        for name, extra in (('plain', ['--no-render']), ('track', ['--track', '--no-render']),
                            ('smooth', ['--smooth', '--smooth-beta', '0.3'])):
            assert tool.main(common + extra + ['--out-dir', str(tmp / name)]) == 0
            root = tmp / name / 'walk'
            out[name] = (root, json.loads((root / 'index.json').read_text()))
    return out


def load(root: Path, record: dict) -> dict:
    with np.load(root / record['params']) as data:
        return {k: data[k] for k in data.files}


def obj_vertices(path: Path) -> np.ndarray:
    rows = [line.split()[1:] for line in path.read_text().splitlines() if line.startswith('v ')]
    return np.array(rows, dtype=np.float64)


def test_plain_run_is_unchanged_and_track_only_adds_ids(runs):
    plain_root, plain = runs['plain']
    track_root, track = runs['track']
    assert 'tracking' not in plain and 'smoothing' not in plain
    assert track['tracking'] is True and track['smoothing'] is None
    for i, (fp, ft) in enumerate(zip(plain['frames'], track['frames'])):
        for pp, pt in zip(fp['people'], ft['people']):
            assert 'track_id' not in pp and pp['params'] == pt['params']
            a, b = load(plain_root, pp), load(track_root, pt)
            assert 'track_id' not in a and set(b) == set(a) | {'track_id'}
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            assert int(b['track_id']) == pt['track_id']
            assert (plain_root / pp['mesh']).read_text() == (track_root / pt['mesh']).read_text()
        # A is track 0 and B track 1 in every frame, whatever the box order.
        expected = [1, 0] if i % 2 else [0, 1]
        assert [p['track_id'] for p in ft['people']] == expected
    # One sequence file per track, stacking that person's per-frame files.
    assert [(t['id'], t['num_frames']) for t in track['tracks']] == [(0, FRAMES), (1, FRAMES)]
    with np.load(track_root / track['tracks'][1]['file']) as seq:
        assert seq['frame_index'].tolist() == list(range(FRAMES))
        assert float(seq['fps']) == pytest.approx(10.0)
        for i, frame in enumerate(track['frames']):
            record = next(p for p in frame['people'] if p['track_id'] == 1)
            per_frame = load(track_root, record)
            for key in ('global_orient', 'body_pose', 'betas', 'transl', 'focal'):
                np.testing.assert_array_equal(seq[key][i], per_frame[key].reshape(-1))
    assert 'tracks' not in plain


def test_smoothed_run_saves_consistent_smoothed_results(runs, body_model_path):
    plain_root, plain = runs['plain']
    root, index = runs['smooth']
    assert index['smoothing'] == {'fps': pytest.approx(10.0), 'min_cutoff': 1.0, 'beta': 0.3}
    layer = smplx.create(str(body_model_path), 'smplx', gender='neutral', use_pca=False,
                         use_face_contour=True, flat_hand_mean=False, num_betas=10,
                         num_expression_coeffs=10)
    changed = []
    for i, (fp, fs) in enumerate(zip(plain['frames'], index['frames'])):
        assert (root / fs['vis']).is_file()
        assert [p['track_id'] for p in fs['people']] == ([1, 0] if i % 2 else [0, 1])
        for pp, ps in zip(fp['people'], fs['people']):
            raw, saved = load(plain_root, pp), load(root, ps)
            assert int(saved['track_id']) == ps['track_id']
            np.testing.assert_array_equal(saved['transl'], raw['transl'])
            np.testing.assert_array_equal(saved['focal'], raw['focal'])
            if i == 0:  # the first sample of a track passes through
                np.testing.assert_allclose(saved['body_pose'], raw['body_pose'], atol=1e-5)
            changed.append(np.abs(saved['body_pose'] - raw['body_pose']).max())
            # Vertices, joints and keypoints are SMPL-X of the saved (smoothed) parameters.
            with torch.no_grad():
                posed = layer(**{k: torch.from_numpy(saved[k]) for k in SMPLX_PARAM_SIZES})
            np.testing.assert_allclose(obj_vertices(root / ps['mesh']),
                                       posed.vertices[0].numpy(), atol=1e-5)
            joints = posed.joints[0, list(SMPLX_137_FROM_144)].numpy()
            np.testing.assert_allclose(saved['joints'], joints, atol=1e-5)
            uv = joints[:, :2] / joints[:, 2:] * saved['focal'] + saved['princpt']
            np.testing.assert_allclose(saved['keypoints_2d'], uv, atol=1e-2)
    assert max(changed) > 1e-3  # smoothing did change later frames
