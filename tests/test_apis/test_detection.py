import sys
import types

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.structures import InstanceData

from smplestx.apis import detection
from smplestx.apis.detection import (
    MMDET_MISSING,
    DetectorUnavailableError,
    GivenBoxes,
    PersonDetector,
    WholeImageBoxes,
    filter_person_boxes,
)
from smplestx.datasets.utils.media_io import Frame


def frame(index=0, name='000000', source=None, size=(40, 60)):
    return Frame(index, name, np.zeros((*size, 3), np.uint8), source)


def test_filter_keeps_all_people_by_score_class_and_size():
    boxes = np.array([[0, 0, 20, 40], [5, 5, 30, 60], [0, 0, 10, 10], [1, 1, 30, 50],
                      [2, 2, 40, 80]])
    scores = np.array([0.6, 0.9, 0.95, 0.3, 0.8])
    labels = np.array([0, 0, 0, 0, 2])
    out = filter_person_boxes(boxes, scores, labels, score_thr=0.5, min_size=(16, 32))
    np.testing.assert_allclose(out, [[5, 5, 30, 60, 0.9], [0, 0, 20, 40, 0.6]], rtol=1e-6)
    assert out.dtype == np.float32
    assert len(filter_person_boxes(boxes, scores, None, score_thr=0.0, min_size=(0, 0),
                                   max_people=2)) == 2
    assert filter_person_boxes(np.zeros((0, 4)), np.zeros(0)).shape == (0, 5)


def test_whole_image_box():
    np.testing.assert_array_equal(WholeImageBoxes()(frame()), [[0, 0, 60, 40, 1]])


def test_given_boxes_shared_and_per_frame(tmp_path):
    shared = GivenBoxes([[1, 2, 10, 20], [0, 0, 5, 5, 0.5]])
    assert shared(frame(3)).tolist() == [[1, 2, 10, 20, 1], [0, 0, 5, 5, 0.5]]
    path = tmp_path / 'boxes.json'
    path.write_text('{"000001": [[1, 1, 9, 9, 0.2], [2, 2, 8, 8, 0.7]], "b.jpg": [0, 0, 4, 4],'
                    ' "7": []}')
    per_frame = GivenBoxes.from_json(path, max_people=1)
    np.testing.assert_allclose(per_frame(frame(1, '000001')), [[2, 2, 8, 8, 0.7]], rtol=1e-6)
    assert per_frame(frame(0, 'b', source='/x/b.jpg')).tolist() == [[0, 0, 4, 4, 1]]
    assert per_frame(frame(7, 'zzz')).shape == (0, 5)
    assert per_frame(frame(2, 'unknown')).shape == (0, 5)


@pytest.mark.parametrize('content, match', [
    ('{bad json', 'not valid JSON'),
    ('"text"', 'must hold a list of boxes'),
    ('[[1, 2, 3]]', r'\[x1, y1, x2, y2\]'),
    ('[[5, 5, 1, 9]]', 'x2 <= x1'),
    ('[["a", 1, 2, 3]]', 'not numeric'),
])
def test_given_boxes_errors_name_the_file(tmp_path, content, match):
    path = tmp_path / 'b.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        GivenBoxes.from_json(path)
    assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        GivenBoxes.from_json(tmp_path / 'missing.json')


def test_detector_without_mmdet_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmdet.apis', None)  # import fails
    with pytest.raises(DetectorUnavailableError) as info:
        PersonDetector(checkpoint='x.pth')
    assert str(info.value) == MMDET_MISSING
    assert '--bboxes/--whole-image' in MMDET_MISSING and '\n' not in MMDET_MISSING


def test_default_config_needs_mmdet(monkeypatch):
    monkeypatch.setattr('importlib.util.find_spec', lambda name: None)
    with pytest.raises(DetectorUnavailableError, match='mmdet'):
        detection.mmdet_config_path(None)


def fake_mmdet(monkeypatch, seen):
    module = types.ModuleType('mmdet.apis')

    def init_detector(config, checkpoint, device):
        seen['init'] = (config, checkpoint, device)
        seen['init_scope'] = DefaultScope.get_current_instance().scope_name
        init_default_scope('mmdet')  # as mmdet does; must not leak out
        return 'model'

    def inference_detector(model, image):
        seen['image'] = image
        seen['scope'] = DefaultScope.get_current_instance().scope_name
        pred = InstanceData(
            bboxes=torch.tensor([[0., 0., 20., 40.], [10., 0., 50., 39.], [1., 1., 30., 38.],
                                 [0., 0., 5., 5.]]),
            scores=torch.tensor([0.7, 0.9, 0.99, 0.9]), labels=torch.tensor([0, 0, 1, 0]))
        return types.SimpleNamespace(pred_instances=pred)

    module.init_detector, module.inference_detector = init_detector, inference_detector
    monkeypatch.setitem(sys.modules, 'mmdet.apis', module)


def test_detector_feeds_bgr_uint8_and_keeps_every_person(monkeypatch, tmp_path):
    seen = {}
    fake_mmdet(monkeypatch, seen)
    weights = tmp_path / 'det.pth'
    weights.write_bytes(b'')
    config = tmp_path / 'det.py'
    config.write_text('')
    init_default_scope('smplestx')
    detector = PersonDetector(str(config), str(weights), score_thr=0.5, min_size=(8, 16))
    assert seen['init'] == (str(config), str(weights), 'cpu') and seen['init_scope'] == 'mmdet'
    assert DefaultScope.get_current_instance().scope_name == 'smplestx'
    f = frame()
    f.image[..., 0] = 200  # red in RGB
    boxes = detector(f)
    assert seen['scope'] == 'mmdet'
    assert DefaultScope.get_current_instance().scope_name == 'smplestx'
    assert seen['image'].dtype == np.uint8
    assert (seen['image'][..., 2] == 200).all() and (seen['image'][..., 0] == 0).all()
    np.testing.assert_allclose(boxes, [[10, 0, 50, 39, 0.9], [0, 0, 20, 40, 0.7]], rtol=1e-6)


def test_detector_needs_weights(monkeypatch):
    fake_mmdet(monkeypatch, {})
    with pytest.raises(DetectorUnavailableError, match='--det-checkpoint'):
        PersonDetector()
    with pytest.raises(FileNotFoundError, match='does not exist'):
        PersonDetector(checkpoint='/nonexistent/det.pth')
