"""tools/dist_test.sh with two CPU processes (gloo) gives exactly the one-process numbers.

The synthetic set has an odd number of samples, so MMEngine's DefaultSampler pads the
second process with a repeat of sample 0; the result collection must drop it again. Both
runs use one crop per batch: the network's float32 CPU kernels depend on the batch
composition (about 1e-6 m on a vertex), which is not what this test is about.
"""

import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from smplestx.testing.tools import free_port

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_test-synthetic-256x192.py'
NUM_SAMPLES = 3  # odd: not divisible by the 2 processes
TIMEOUT_S = 300


def _start(cmd, body_model_path):
    env = dict(os.environ, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               SMPLESTX_BODY_MODELS=str(body_model_path), PYTHON=sys.executable)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _finish(proc, name):
    """Wait for ``proc``; kill its whole process group on timeout."""
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f'{name} did not finish in {TIMEOUT_S} s:\n{output[-4000:]}')
    assert proc.returncode == 0, f'{name} failed:\n{output[-6000:]}'
    return output


def _args(checkpoint, work_dir, data_root):
    return [str(TEST_CONFIG), str(checkpoint), '--work-dir', str(work_dir), '--out',
            str(work_dir / 'preds.pkl'), '--cfg-options',
            f'test_dataloader.dataset.data_root={data_root}', 'test_dataloader.batch_size=1']


@pytest.fixture(scope='module')
def synthetic_root(synthetic_humandata_root):
    return synthetic_humandata_root(NUM_SAMPLES, img_size=(128, 128))


def test_two_cpu_processes_give_exactly_the_single_process_numbers(
        tmp_path, synthetic_root, body_model_path, official_tiny_path):
    checkpoint = official_tiny_path / 'snapshot_0.pth.tar'
    single_dir, dist_dir = tmp_path / 'single', tmp_path / 'dist'
    # Both runs at once (they share nothing but the read-only inputs).
    single = _start([sys.executable, 'tools/test.py',
                     *_args(checkpoint, single_dir, synthetic_root)], body_model_path)
    dist = _start(['bash', 'tools/dist_test.sh', str(TEST_CONFIG), str(checkpoint), '2',
                   *_args(checkpoint, dist_dir, synthetic_root)[2:]], body_model_path)
    dist_log = _finish(dist, 'dist_test.sh')
    single_log = _finish(single, 'tools/test.py')

    assert 'Distributed training: True' in dist_log and 'GPU number: 2' in dist_log
    assert 'Distributed training: False' in single_log
    # Each rank ran 2 one-crop batches: 4 crops for 3 samples, one of them padding.
    assert 'test progress: 2/2 batches (100%)' in dist_log
    assert f'test progress: {NUM_SAMPLES}/{NUM_SAMPLES} batches (100%)' in single_log

    ref = json.loads((single_dir / 'results.json').read_text())
    got = json.loads((dist_dir / 'results.json').read_text())
    assert 'mpvpe/all' in ref and all(v == v for v in ref.values()), ref
    assert got == ref  # exactly, not approximately

    with open(single_dir / 'preds.pkl', 'rb') as handle:
        ref_dump = pickle.load(handle)
    with open(dist_dir / 'preds.pkl', 'rb') as handle:
        got_dump = pickle.load(handle)
    assert [d['sample_idx'] for d in got_dump] == list(range(NUM_SAMPLES))
    assert [d['sample_idx'] for d in ref_dump] == list(range(NUM_SAMPLES))
    for ref_sample, got_sample in zip(ref_dump, got_dump):
        assert got_sample['img_path'] == ref_sample['img_path']
        torch.testing.assert_close(got_sample['pred_instances']['vertices'],
                                   ref_sample['pred_instances']['vertices'], rtol=0, atol=0)
