"""The real mmdet person detector (needs full mmcv; CI installs it, mmcv-lite skips).

No detector weights can be downloaded here, so the test makes an RTMDet-tiny checkpoint
with random weights from mmdet's bundled config. That checks the whole path (config
resolution, safe weight loading, BGR uint8 input, person filtering, the demo CLI), not
the detector's accuracy.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def random_rtmdet(tmp_path_factory):
    pytest.importorskip('mmcv.ops', reason='full mmcv (compiled ops) is not installed')
    mmdet_apis = pytest.importorskip('mmdet.apis', reason='mmdet is not installed')
    from mmengine.registry import DefaultScope

    from smplestx.apis.detection import mmdet_config_path

    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = mmdet_apis.init_detector(mmdet_config_path(None), None, device='cpu')
    path = tmp_path_factory.mktemp('det') / 'rtmdet_tiny_random.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(model.dataset_meta)}}, path)
    return path


def test_person_detector_runs_on_bgr_uint8_and_filters(random_rtmdet):
    import cv2

    from smplestx.apis.detection import PersonDetector

    detector = PersonDetector(checkpoint=str(random_rtmdet), score_thr=0.0, min_size=(0, 0))
    image = cv2.imread(str(REPO / 'demo' / 'astronaut.jpg'))
    boxes = detector(image)
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert np.all(np.diff(boxes[:, 4]) <= 0)  # best first
    strict = PersonDetector(checkpoint=str(random_rtmdet), score_thr=1.01)
    assert strict(image).shape == (0, 5)


def test_demo_cli_with_the_detector(random_rtmdet, tmp_path, body_model_path):
    out = tmp_path / 'out'
    cmd = [sys.executable, 'tools/demo.py', 'demo/astronaut.jpg', '--det-checkpoint',
           str(random_rtmdet), '--det-score-thr', '0.0', '--out-dir', str(out),
           '--body-model-dir', str(body_model_path), '--no-progress']
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    index = json.loads((out / 'astronaut' / 'index.json').read_text())
    assert index is not None


def test_default_weights_come_from_the_verified_download(random_rtmdet, monkeypatch):
    from smplestx.apis import detection

    calls = []
    monkeypatch.setattr(detection, 'ensure_detector_weights',
                        lambda: calls.append('download') or str(random_rtmdet))
    detection.PersonDetector()  # no --det-checkpoint
    assert calls == ['download']
