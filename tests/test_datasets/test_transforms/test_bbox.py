import numpy as np
import pytest

from smplestx.datasets.transforms import GetBBox


def test_processes_and_adds_virtual_camera():
    out = GetBBox(ratio=1.2)(dict(bbox=np.array([10, 20, 90, 100, 0.9]), ori_shape=(480, 640)))
    box = out['bbox']
    assert box.dtype == np.float32
    assert box[2] / box[3] == pytest.approx(0.75, rel=1e-6)
    np.testing.assert_allclose(out['princpt'], box[:2] + box[2:] / 2, rtol=1e-6)
    np.testing.assert_allclose(out['focal'], [5000 / 192 * box[2], 5000 / 256 * box[3]],
                               rtol=1e-6)
    np.testing.assert_array_equal(out['bbox_raw'], [10, 20, 90, 100])


def test_degenerate_box_raises_naming_image():
    with pytest.raises(ValueError, match='frame_7.jpg'):
        GetBBox()(dict(bbox=[700, 10, 50, 50], ori_shape=(480, 640), img_path='frame_7.jpg'))


def test_degenerate_box_can_be_skipped():
    assert GetBBox(skip_invalid=True)(dict(bbox=[0, 0, 0, 5], ori_shape=(10, 10))) is None


def test_needs_image_shape():
    with pytest.raises(KeyError, match='ori_shape'):
        GetBBox()(dict(bbox=[0, 0, 5, 5]))
