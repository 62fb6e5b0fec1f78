"""tools/demo.py on bad inputs (the demo rows of docs/bad_inputs.md; issue 17).

Each case states the defect it pins. Mistakes that need no model fail before the model
is built (``build_model`` is replaced by a function that fails the test).
"""

import errno
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from demo_utils import load_demo_tool

from smplestx.apis import demo_runner
from smplestx.testing.media import truncate_after, write_video, zero_frame
from smplestx.utils import io as io_utils
from smplestx.utils.body_model_files import BODY_MODELS_ENV

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'demo' / 'astronaut.jpg'


@pytest.fixture
def run(demo_model_args, tmp_path, monkeypatch, capsys):
    """``run(*args) -> (code, stdout, stderr)`` of the demo writing to ``tmp_path/out``."""
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)
    tool = load_demo_tool()

    def _run(*args):
        code = tool.main(['--out-dir', str(tmp_path / 'out')] + demo_model_args +
                         [str(a) for a in args])  # the last --out-dir wins
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


@pytest.fixture
def no_model(monkeypatch):
    """The model must not be built."""

    def fail(*args, **kwargs):
        raise AssertionError('the model was built before the bad input was noticed')

    monkeypatch.setattr(demo_runner, 'build_model', fail)


def _one_error_line(code, err, *needles):
    lines = err.strip().splitlines()
    assert code == 2 and 'Traceback' not in err, err
    assert lines[-1].startswith('error: '), lines
    for needle in needles:
        assert str(needle) in lines[-1], (needle, lines[-1])


def _index(tmp_path, name):
    return json.loads((tmp_path / 'out' / name / 'index.json').read_text())


def test_same_stems_get_their_own_folders(run, tmp_path):
    """#1: cam1/frame.jpg and cam2/frame.jpg shared out/frame/; an image and a video of the
    same stem mixed their files in one folder."""
    for cam in ('cam1', 'cam2'):
        (tmp_path / cam).mkdir()
        shutil.copy(IMAGE, tmp_path / cam / 'frame.jpg')
    shutil.copy(IMAGE, tmp_path / 'astronaut.jpg')
    write_video(tmp_path / 'astronaut.mp4', 2, size=(64, 48))
    code, out, _ = run(tmp_path / 'cam1' / 'frame.jpg', tmp_path / 'cam2' / 'frame.jpg',
                       tmp_path / 'astronaut.jpg', tmp_path / 'astronaut.mp4', '--whole-image',
                       '--no-render')
    assert code == 0
    names = sorted(p.name for p in (tmp_path / 'out').iterdir())
    assert names == ['astronaut_jpg', 'astronaut_mp4', 'cam1_frame', 'cam2_frame']
    assert _index(tmp_path, 'cam2_frame')['input'] == str(tmp_path / 'cam2' / 'frame.jpg')
    assert _index(tmp_path, 'astronaut_mp4')['num_frames'] == 2


def test_a_corrupt_video_frame_is_skipped_and_reported(run, tmp_path):
    """#3: a video with one corrupt frame stopped there with exit 0; a truncated one gave no
    warning."""
    write_video(tmp_path / 'good.mp4', 10, size=(64, 48))
    zero_frame(tmp_path / 'good.mp4', tmp_path / 'corrupt.mp4', 3)
    truncate_after(tmp_path / 'good.mp4', tmp_path / 'short.mp4', 6)
    code, out, _ = run(tmp_path / 'corrupt.mp4', tmp_path / 'short.mp4', '--whole-image',
                       '--no-render')
    assert code == 1
    corrupt = _index(tmp_path, 'corrupt')
    assert [f['index'] for f in corrupt['frames']] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert corrupt['failures'] == [{'frames': [3, 3], 'error': 'could not be decoded'}]
    short = _index(tmp_path, 'short')
    assert short['num_frames'] == 6 and short['failures'][0]['frames'] == [6, 9]
    assert 'header announces 10' in out and 'frame 3: could not be decoded' in out


def test_an_unreadable_image_does_not_stop_its_folder(run, tmp_path):
    """#6: one unreadable image aborted the folder, and with --batch-size 2 its batch peer's
    outputs were lost and no index.json was written."""
    folder = tmp_path / 'shots'
    folder.mkdir()
    for name in ('a.jpg', 'c.jpg', 'd.jpg'):
        shutil.copy(IMAGE, folder / name)
    (folder / 'b.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    code, out, err = run(folder, '--whole-image', '--batch-size', '2', '--no-render')
    assert code == 1 and 'Traceback' not in out + err
    index = _index(tmp_path, 'shots')
    assert [f['name'] for f in index['frames']] == ['a', 'c', 'd']
    assert len(index['failures']) == 1 and index['failures'][0]['file'] == str(folder / 'b.jpg')
    warnings = [line for line in out.splitlines() if 'b.jpg' in line]
    assert len(warnings) == 1 and 'skipping' in warnings[0]
    assert f'{folder}: 1 unreadable image(s)' in out  # and the summary says where to look
    shutil.rmtree(tmp_path / 'out')
    code, _, err = run(folder, '--whole-image', '--batch-size', '2', '--no-render', '--strict')
    _one_error_line(code, err, folder / 'b.jpg')
    assert not (tmp_path / 'out' / 'shots' / 'index.json').exists()


def test_large_images_render_in_bands(run, tmp_path, monkeypatch):
    """#8: the overlay of a large photo was drawn at full resolution in float64/int64
    buffers (130 bytes per pixel). The demo now renders bands of about 1 Mpx (the peak
    memory is measured in tests/test_visualization/test_render_memory.py)."""
    from smplestx.visualization import mesh_renderer

    monkeypatch.setattr(mesh_renderer, '_TILE_PIXELS', 64 * 512)  # force several bands here
    calls = []
    rasterize = mesh_renderer.rasterize
    monkeypatch.setattr(mesh_renderer, 'rasterize',
                        lambda *a, **k: calls.append(k['window']) or rasterize(*a, **k))
    code, _, _ = run(IMAGE, '--whole-image')
    assert code == 0 and len(calls) == 8 and calls[0] == (0, 64, 0, 512)
    banded = cv2.imread(str(tmp_path / 'out' / 'astronaut' / 'vis' / 'astronaut.jpg'))
    monkeypatch.setattr(mesh_renderer, '_TILE_PIXELS', 1 << 20)
    code, _, _ = run(IMAGE, '--whole-image', '--overwrite')
    whole = cv2.imread(str(tmp_path / 'out' / 'astronaut' / 'vis' / 'astronaut.jpg'))
    np.testing.assert_array_equal(banded, whole)


def test_box_files(run, tmp_path):
    """#9: keys matching no frame gave 0 people silently; a box left of or above the image
    was moved into the corner (right/bottom were skipped); [0, 0, 1e10, 1e10] crashed."""
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({'astronut': [[10, 10, 200, 400]], '000007': [[1, 1, 9, 9]]}))
    code, out, _ = run(IMAGE, '--bboxes', boxes)
    assert code == 0 and _index(tmp_path, 'astronaut')['num_people'] == 0
    assert "2 key(s) match no frame of the inputs: 'astronut', '000007'" in out
    outside = [[-300, 10, -100, 400], [10, -500, 200, -50], [600, 10, 800, 400],
               [10, 600, 200, 900], [100, 50, 300, 450]]  # left, above, right, below, inside
    boxes.write_text(json.dumps(outside))
    code, out, _ = run(IMAGE, '--bboxes', boxes, '--overwrite')
    people = _index(tmp_path, 'astronaut')['frames'][0]['people']
    assert code == 0 and [p['bbox'] for p in people] == [[100, 50, 300, 450]]
    skipped = [line for line in out.splitlines() if 'outside the 512x512 image' in line]
    assert len(skipped) == 4
    boxes.write_text(json.dumps([[0, 0, 1e10, 1e10]]))
    code, _, err = run(IMAGE, '--bboxes', boxes, '--overwrite')
    assert code == 0 and 'Traceback' not in err
    assert _index(tmp_path, 'astronaut')['num_people'] == 1


def test_bad_output_folders_devices_and_inputs_fail_before_the_model(run, tmp_path, no_model):
    """#12 and "every demo error arrives only after 6-10 s of model loading"."""
    regular = tmp_path / 'file.txt'
    regular.write_text('x')
    code, _, err = run(IMAGE, '--whole-image', '--out-dir', regular / 'sub')
    _one_error_line(code, err, 'cannot write to the output folder', regular / 'sub')
    if not torch.cuda.is_available():
        code, _, err = run(IMAGE, '--whole-image', '--device', 'cuda')
        _one_error_line(code, err, '--device cuda', 'no CUDA GPU')
    code, _, err = run(tmp_path / 'missing.jpg', '--whole-image')
    _one_error_line(code, err, tmp_path / 'missing.jpg', 'does not exist')
    (tmp_path / 'notes.txt').write_text('x')
    code, _, err = run(tmp_path / 'notes.txt', '--whole-image')
    _one_error_line(code, err, 'unknown file type')
    (tmp_path / 'broken.mp4').write_bytes(b'not a video')
    code, _, err = run(tmp_path / 'broken.mp4', '--whole-image')
    _one_error_line(code, err, tmp_path / 'broken.mp4', 'cannot open video')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"astronaut": [[1, 2, 3]]')
    code, _, err = run(IMAGE, '--bboxes', bad)
    _one_error_line(code, err, bad, 'not valid JSON')
    (tmp_path / 'empty').mkdir()
    code, _, err = run(tmp_path / 'empty', '--whole-image')
    _one_error_line(code, err, tmp_path / 'empty', 'holds no images')


def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(run, tmp_path, monkeypatch):
    """#12: a full disk gave a traceback."""
    real_fsync, calls = io_utils.os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # the third file: the disk is full
            raise OSError(errno.ENOSPC, 'No space left on device')
        real_fsync(fd)

    monkeypatch.setattr(io_utils.os, 'fsync', fsync)
    write_video(tmp_path / 'clip.mp4', 4, size=(64, 48))
    code, _, err = run(tmp_path / 'clip.mp4', '--whole-image')
    _one_error_line(code, err, 'No space left on device', tmp_path / 'out' / 'clip')
    assert not (tmp_path / 'out' / 'clip').exists()
