"""tools/dist_demo.sh: 2 and 3 CPU processes (gloo) write exactly what one process writes.

Every file is compared byte for byte with a one-process run (``index.json`` up to its
``seconds`` and ``created`` fields). That holds because a unit (a video, an image, a part
of a folder) is read, predicted and written by one process, and the people of a unit are
batched the same way whichever process runs it, so the float32 kernels see the same
batches (the CPU kernels' results depend on the batch composition, see test_dist_test.py).
"""

import json
import re
import sys

import pytest
from demo_utils import (
    MIXED_OPTIONS,
    assert_same_outputs,
    load_demo_tool,
    mixed_inputs,
    run_subprocess,
    subprocess_env,
)

from smplestx.utils.body_model_files import BODY_MODELS_ENV

pytestmark = pytest.mark.skipif(sys.platform != 'linux', reason='torchrun on CPU over gloo')


def _dist(nproc, args, body_model_path):
    proc = run_subprocess(['bash', 'tools/dist_demo.sh', str(nproc), *args],
                          subprocess_env(body_model_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout


def _written_once(log, inputs, frames):
    """Each input reported done by exactly one process; the processes' frames add up."""
    for path in inputs:
        assert len(re.findall(rf'^{re.escape(path)}: \d+ frame\(s\)', log, re.M)) == 1, path
    counts = [int(n) for n in re.findall(r'^process \d+: (\d+) frame\(s\)', log, re.M)]
    assert sum(counts) == frames, counts
    return counts


def test_two_processes_over_mixed_inputs_equal_one(tmp_path, demo_media, demo_model_args,
                                                   mixed_reference, body_model_path):
    inputs = mixed_inputs(demo_media)
    out = tmp_path / 'out'
    log = _dist(2, inputs + MIXED_OPTIONS + demo_model_args + ['--out-dir', str(out)],
                body_model_path)
    counts = _written_once(log, inputs, 7 + 3 + 4 + 1)
    assert all(counts), counts  # both processes worked
    assert_same_outputs(out, mixed_reference)


def test_three_processes_two_tracked_smoothed_videos_equal_one(tmp_path, demo_media,
                                                               demo_model_args,
                                                               body_model_path):
    """One process gets nothing and exits cleanly; tracking and smoothing run per video."""
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps([[2, 2, 50, 62], [30, 4, 78, 60, 0.8]]))
    inputs = [str(demo_media['long']), str(demo_media['short'])]
    args = inputs + ['--bboxes', str(boxes), '--track', '--smooth', '--batch-size', '3',
                     *demo_model_args]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        assert load_demo_tool().main(args + ['--out-dir', str(tmp_path / 'one')]) == 0
    log = _dist(3, args + ['--out-dir', str(tmp_path / 'three')], body_model_path)
    assert sorted(_written_once(log, inputs, 7 + 4)) == [0, 4, 7]
    assert_same_outputs(tmp_path / 'three', tmp_path / 'one')
    index = json.loads((tmp_path / 'three' / 'long' / 'index.json').read_text())
    assert index['smoothing'] is not None and len(index['tracks']) == 2


def test_frames_decoded_in_two_workers_equal_the_main_process(tmp_path, demo_media,
                                                               demo_model_args,
                                                               mixed_reference):
    """Clips of one video go to both workers; each worker's reader skips to its clips."""
    out = tmp_path / 'out'
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        code = load_demo_tool().main(mixed_inputs(demo_media) + MIXED_OPTIONS + demo_model_args
                                     + ['--out-dir', str(out), '--num-workers', '2'])
    assert code == 0
    assert_same_outputs(out, mixed_reference)
