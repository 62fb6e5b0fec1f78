from pathlib import Path

import cv2
import numpy as np
import pytest

from smplestx.apis import SMPLestXInferencer
from smplestx.registry import INFERENCERS
from smplestx.structures import SMPLXDataSample
from smplestx.visualization import project_points

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
IMAGE = ROOT / 'demo' / 'astronaut.jpg'
PARAM_SHAPES = {'global_orient': (1, 3), 'body_pose': (1, 21, 3), 'left_hand_pose': (1, 15, 3),
                'right_hand_pose': (1, 15, 3), 'jaw_pose': (1, 3), 'betas': (1, 10),
                'expression': (1, 10), 'transl': (1, 3), 'focal': (1, 2), 'princpt': (1, 2),
                'keypoints_2d': (1, 137, 2), 'joints': (1, 137, 3), 'bbox': (4, ),
                'crop_bbox': (4, )}


@pytest.fixture(scope='module')
def inferencer(body_model_path, official_tiny_path):
    return INFERENCERS.build(dict(type='smplestx', model=str(TINY), device='cpu',
                                  weights=str(official_tiny_path / 'snapshot_0.pth.tar'),
                                  body_model_dir=str(body_model_path)))


def test_people_of_an_image(inferencer):
    boxes = [[250, 60, 500, 500, 0.6], [20, 10, 260, 500, 0.9]]
    out = inferencer(str(IMAGE), boxes=boxes, return_vis=True)
    people = out['predictions'][0]
    assert len(people) == 2 and [p['score'] for p in people] == pytest.approx([0.9, 0.6])
    for person in people:
        for key, shape in PARAM_SHAPES.items():
            assert np.shape(person[key]) == shape, key
        assert person['vertices'].shape[1] > 10000
        x, y, w, h = person['crop_bbox']
        np.testing.assert_allclose(person['focal'][0], [5000 / 192 * w, 5000 / 256 * h],
                                   rtol=1e-5)
        np.testing.assert_allclose(person['princpt'][0], [x + w / 2, y + h / 2], rtol=1e-5)
        # The 2D keypoints are the 3D joints seen through the image-space camera.
        uv = project_points(person['joints'][0], person['focal'][0], person['princpt'][0])
        np.testing.assert_allclose(uv, person['keypoints_2d'][0], atol=0.05)
    np.testing.assert_allclose(people[0]['bbox'], boxes[1][:4])
    assert out['visualization'][0].shape == (512, 512, 3)


def test_people_are_batched_across_frames_without_mixing(inferencer):
    bgr = cv2.imread(str(IMAGE))
    frames = [bgr, bgr[:400, :300], bgr[100:, 50:]]
    boxes = {'000000': [[10, 10, 200, 300], [100, 50, 400, 500, 0.5]],
             '000002': [[0, 0, 150, 300], [20, 30, 300, 380], [200, 100, 400, 400, 0.8]]}
    one = list(inferencer.stream(frames, batch_size=1, boxes=boxes))
    three = list(inferencer.stream(frames, batch_size=3, boxes=boxes))
    four = inferencer(frames, batch_size=4, boxes=boxes, return_datasamples=True)
    assert [len(r.people) for r in one] == [2, 0, 3] == [len(r.people) for r in three]
    assert [len(p) for p in four['predictions']] == [2, 0, 3]
    assert isinstance(four['predictions'][2][0], SMPLXDataSample)
    for a, b in zip(one, three):
        assert a.frame.index == b.frame.index
        for pa, pb in zip(a.people, b.people):
            np.testing.assert_allclose(pa['bbox'], pb['bbox'])
            np.testing.assert_allclose(pa['vertices'], pb['vertices'], rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(pa['body_pose'], pb['body_pose'], rtol=1e-4, atol=1e-5)


def test_degenerate_and_missing_boxes(inferencer):
    result = next(inferencer.stream(str(IMAGE), boxes=[[900, 900, 990, 990]]))
    assert result.people == []
    with pytest.raises(ValueError, match='no person boxes'):
        next(inferencer.stream(str(IMAGE)))
    with pytest.raises(ValueError, match='batch_size'):
        next(inferencer.stream(str(IMAGE), batch_size=0, boxes='whole_image'))


def test_is_an_mmengine_inferencer(inferencer):
    from mmengine.infer import BaseInferencer

    assert isinstance(inferencer, SMPLestXInferencer) and isinstance(inferencer, BaseInferencer)
    assert inferencer.faces.shape[1] == 3


def test_precision_reaches_the_model(body_model_path, official_tiny_path, inferencer):
    fast = SMPLestXInferencer(str(TINY), str(official_tiny_path / 'snapshot_0.pth.tar'),
                              device='cpu', body_model_dir=str(body_model_path),
                              precision='int8')
    assert fast.model.precision == 'int8' and inferencer.model.precision == 'fp32'
    boxes = [[20, 10, 260, 500, 0.9]]
    ours = fast(str(IMAGE), boxes=boxes)['predictions'][0][0]
    reference = inferencer(str(IMAGE), boxes=boxes)['predictions'][0][0]
    for key, shape in PARAM_SHAPES.items():
        assert np.shape(ours[key]) == shape, key
        assert ours[key].dtype == reference[key].dtype, key
