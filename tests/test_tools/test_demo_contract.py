"""Contract of ``tools/demo.py``: files per input kind, reprojection of saved results, errors.

Runs the tiny config with the official fixture checkpoint and the synthetic body model.
"""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import smplx
import torch

from smplestx.apis.exporters import SMPLX_PARAM_SIZES, ResultWriter
from smplestx.evaluation.metrics import inference_writer
from smplestx.structures.keypoint.smplx_conventions import SMPLX_137_FROM_144
from smplestx.testing.tools import load_tool
from smplestx.utils.body_model_files import BODY_MODELS_ENV

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'demo' / 'astronaut.jpg'
DEMO = 'tools/demo.py'
TINY = ROOT / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
#: Heatmap (H, W) of the tiny config, the unit of ``keypoints_2d_hm``.
HM_SHAPE = (16, 12)
BOXES = {'astronaut': [[20, 10, 260, 500, 0.9], [250, 60, 500, 500]],
         'crop': [[10, 20, 200, 230]]}


def model_args(body_model_path, official_tiny_path):
    return ['--config', str(TINY), '--checkpoint', str(official_tiny_path / 'snapshot_0.pth.tar'),
            '--body-model-dir', str(body_model_path), '--device', 'cpu', '--no-progress']


def write_video(path: Path, frames: int, size=(160, 120)) -> None:
    image = cv2.resize(cv2.imread(str(IMAGE)), size)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5.0, size)
    for i in range(frames):
        writer.write(np.roll(image, 4 * i, axis=1))
    writer.release()


def count_video_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory, body_model_path, official_tiny_path):
    """One demo run over a folder, an image and a generated video; keeps the raw people."""
    tmp = tmp_path_factory.mktemp('demo_contract')
    folder = tmp / 'shots'
    folder.mkdir()
    shutil.copy(IMAGE, folder / 'astronaut.jpg')
    cv2.imwrite(str(folder / 'crop.png'), cv2.imread(str(IMAGE))[:300, 100:400])
    (folder / 'notes.txt').write_text('not an image')
    video = tmp / 'clip.mp4'
    write_video(video, 3)
    boxes = tmp / 'boxes.json'
    boxes.write_text(json.dumps({**BOXES, **{f'{i:06d}': [[5, 5, 150, 115]] for i in range(3)}}))
    people = {}

    class RecordingWriter(ResultWriter):
        def add_frame(self, index, name, frame_people, *args, **kwargs):
            people[(Path(self.out_dir).name, name)] = [dict(p) for p in frame_people]
            return super().add_frame(index, name, frame_people, *args, **kwargs)

    out = tmp / 'out'
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        patch.setattr(inference_writer, 'ResultWriter', RecordingWriter)
        code = load_tool(DEMO).main([str(folder), str(IMAGE), str(video), '--bboxes', str(boxes),
                                     '--out-dir', str(out), '--batch-size', '3'] +
                                    model_args(body_model_path, official_tiny_path))
    return code, out, people


def read_index(root: Path) -> dict:
    return json.loads((root / 'index.json').read_text())


def test_every_input_kind_writes_its_files(demo_run):
    code, out, _ = demo_run
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ['astronaut', 'clip', 'shots']
    expected = {'shots': ('folder', ['astronaut', 'crop'], [2, 1]),
                'astronaut': ('image', ['astronaut'], [2]),
                'clip': ('video', ['000000', '000001', '000002'], [1, 1, 1])}
    for name, (kind, frames, counts) in expected.items():
        root = out / name
        index = read_index(root)
        assert index['input_type'] == kind and not index['placeholder_weights']
        assert [f['name'] for f in index['frames']] == frames
        assert [len(f['people']) for f in index['frames']] == counts
        assert index['num_people'] == sum(counts)
        for frame in index['frames']:
            assert (root / frame['vis']).is_file()
            for person in frame['people']:
                with np.load(root / person['params']) as data:
                    assert data['transl'].shape == (1, 3) and np.isfinite(data['transl']).all()
    clip = read_index(out / 'clip')
    assert clip['fps'] == pytest.approx(5.0)
    assert count_video_frames(out / 'clip' / clip['video']) == 3
    shots = read_index(out / 'shots')
    assert shots['frames'][1]['image_size'] == [300, 300]
    assert Path(shots['frames'][1]['source']).name == 'crop.png'


def test_saved_parameters_reproject_onto_the_crop_predictions(demo_run, body_model_path):
    """SMPL-X posed from a saved ``.npz`` and projected with its saved camera lands where the
    network's crop-space (heatmap) joints map to in the original image, within 1 px."""
    _, out, people = demo_run
    layer = smplx.create(str(body_model_path), 'smplx', gender='neutral', use_pca=False,
                         use_face_contour=True, flat_hand_mean=False, num_betas=10,
                         num_expression_coeffs=10)
    hm_h, hm_w = HM_SHAPE
    checked = 0
    for name in ('shots', 'clip'):
        root = out / name
        for frame in read_index(root)['frames']:
            for record, raw in zip(frame['people'], people[(name, frame['name'])]):
                with np.load(root / record['params']) as data:
                    saved = {k: torch.from_numpy(data[k]) for k in data.files}
                posed = layer(**{k: saved[k] for k in SMPLX_PARAM_SIZES})
                joints = posed.joints[0, list(SMPLX_137_FROM_144)].double().numpy()
                focal, princpt = saved['focal'].double().numpy(), saved['princpt'].double().numpy()
                uv = joints[:, :2] / joints[:, 2:] * focal + princpt
                x, y, w, h = saved['crop_bbox'].double().numpy()
                np.testing.assert_allclose(saved['bbox'].numpy(), record['bbox'])
                hm = raw['keypoints_2d_hm'][0].astype(np.float64)
                expected = hm * [w / hm_w, h / hm_h] + [x, y]
                assert np.abs(uv - expected).max() < 1.0  # measured: < 1e-3 px
                np.testing.assert_allclose(saved['keypoints_2d'].numpy(), expected, atol=1e-2)
                checked += 1
    assert checked == 6


@pytest.fixture
def run_tool(body_model_path, official_tiny_path, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)
    tool = load_tool(DEMO)

    def run(*args):
        code = tool.main([str(a) for a in args] + ['--out-dir', str(tmp_path / 'out')] +
                         model_args(body_model_path, official_tiny_path))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_no_people_is_reported_and_succeeds(run_tool, tmp_path):
    boxes = tmp_path / 'boxes.json'
    boxes.write_text('[]')
    code, out, err = run_tool(IMAGE, '--bboxes', boxes)
    assert code == 0 and 'Traceback' not in err
    assert f'{IMAGE}: 1 frame(s), 0 people' in out
    index = read_index(tmp_path / 'out' / 'astronaut')
    assert index['num_people'] == 0 and index['frames'][0]['people'] == []
    assert not (tmp_path / 'out' / 'astronaut' / 'smplx').exists()


def test_unreadable_image_is_skipped_with_a_warning_and_exit_1(run_tool, tmp_path):
    """An input image that cannot be decoded is named in one warning, written nowhere, and
    makes the run exit 1 at its end (issue 17 #6: a bad file does not stop the others)."""
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not a jpeg')
    code, out, err = run_tool(bad, IMAGE, '--whole-image')
    assert code == 1 and 'Traceback' not in out + err
    warnings = [line for line in out.splitlines() if 'skipping' in line]
    assert len(warnings) == 1 and str(bad) in warnings[0]
    assert f'{bad}: failed' in out
    assert not (tmp_path / 'out' / 'broken').exists()
    assert read_index(tmp_path / 'out' / 'astronaut')['num_people'] == 1


def test_empty_video_is_one_line_error(run_tool, tmp_path):
    empty = tmp_path / 'empty.mp4'
    write_video(empty, 0)
    code, _, err = run_tool(empty, '--whole-image')
    lines = err.strip().splitlines()
    assert code == 2 and 'Traceback' not in err
    assert lines[-1].startswith('error: ') and str(empty) in lines[-1]
    assert not (tmp_path / 'out' / 'empty' / 'index.json').exists()


def test_demo_benchmark_reports_both_modes(body_model_path, capsys):
    bench = load_tool('tools/analysis_tools/benchmark_demo.py')
    assert bench.person_boxes(400, 300, 4)[3] == [300.0, 0.0, 400.0, 300.0, 1.0]
    args = bench.parse_args(['--config', str(TINY), '--body-model-dir', str(body_model_path),
                             '--people', '2', '--frames', '1', '--rounds', '1', '--warmup', '0'])
    results = bench.benchmark(args)
    assert set(results) == {2}
    assert results[2]['batched'] > 0 and results[2]['single'] > 0
    assert results[2]['ratio'] == pytest.approx(results[2]['batched'] / results[2]['single'])
    assert '2 people/frame: batched (bs=4)' in capsys.readouterr().out
