import numpy as np
import pytest

from smplestx.datasets.utils.bbox import (
    process_bbox,
    process_bboxes,
    sanitize_bbox,
    sanitize_bboxes,
    virtual_camera,
)


def _spec_process(x, y, w, h, img_w, img_h, ratio, aspect=0.75):
    """The §5.4 formulas written out in plain Python floats."""
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(img_w - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(img_h - 1.0, y1 + max(0.0, h - 1.0))
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2, y1 + h / 2
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    return [cx - w * ratio / 2, cy - h * ratio / 2, w * ratio, h * ratio]


def test_sanitize_full_image_box_loses_one_pixel():
    np.testing.assert_array_equal(sanitize_bbox([0, 0, 640, 480], 640, 480),
                                  [0, 0, 639, 479])


def test_sanitize_shifts_left_top_overflow_and_clips_right_bottom():
    np.testing.assert_array_equal(sanitize_bbox([-10, -5, 50, 40], 640, 480), [0, 0, 49, 39])
    np.testing.assert_array_equal(sanitize_bbox([600, 450, 100, 100], 640, 480),
                                  [600, 450, 39, 29])


@pytest.mark.parametrize('box', [[10, 10, 1, 50], [10, 10, 50, 0], [700, 10, 50, 50],
                                 [10, 10, -5, 50], [np.nan, 0, 10, 10]])
def test_sanitize_degenerate_is_none(box):
    assert sanitize_bbox(box, 640, 480) is None
    assert process_bbox(box, 640, 480) is None


@pytest.mark.parametrize('box,ratio', [([100, 50, 80, 200], 1.2), ([10.5, 20.25, 300, 90], 1.25),
                                       ([-20, 5, 120, 160], 1.2 * 0.833)])
def test_process_bbox_matches_spec_formula(box, ratio):
    out = process_bbox(box, 640, 480, (512, 384), ratio)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _spec_process(*box, 640, 480, ratio), rtol=1e-6)
    assert out[2] / out[3] == pytest.approx(0.75, rel=1e-6)


def test_process_bbox_integer_input_is_not_truncated():
    as_int = process_bbox(np.array([101, 51, 81, 203], dtype=np.int64), 640, 480, ratio=1.2)
    as_float = process_bbox(np.array([101, 51, 81, 203], dtype=np.float64), 640, 480,
                            ratio=1.2)
    np.testing.assert_array_equal(as_int, as_float)
    assert not np.allclose(as_int, np.round(as_int))


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(0)
    boxes = np.concatenate([rng.uniform(-50, 600, (50, 2)), rng.uniform(-5, 300, (50, 2))], 1)
    widths = rng.integers(200, 700, 50)
    heights = rng.integers(200, 700, 50)
    out, valid = process_bboxes(boxes, widths, heights, (512, 384), 1.2)
    for i in range(50):
        ref = process_bbox(boxes[i], widths[i], heights[i], (512, 384), 1.2)
        assert (ref is not None) == bool(valid[i])
        if ref is not None:
            np.testing.assert_array_equal(out[i], ref)
    _, valid2 = sanitize_bboxes(boxes, widths, heights)
    np.testing.assert_array_equal(valid, valid2)


def test_sanitize_bboxes_rejects_bad_shape():
    with pytest.raises(ValueError, match='xywh'):
        sanitize_bboxes(np.zeros((3, 3)), 10, 10)


def test_virtual_camera_centre_and_focal():
    focal, princpt = virtual_camera([10, 20, 192, 256])
    np.testing.assert_allclose(focal, [5000, 5000])
    np.testing.assert_allclose(princpt, [10 + 96, 20 + 128])
