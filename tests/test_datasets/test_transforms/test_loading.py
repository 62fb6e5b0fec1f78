import cv2
import numpy as np
import pytest
from PIL import Image

from smplestx.datasets.transforms import LoadImage
from smplestx.datasets.utils.image_io import ImageReadError


@pytest.fixture()
def exif_jpeg(tmp_path):
    """A 40x60 JPEG whose EXIF says 'rotate 90 CW' (orientation 6)."""
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / 'rotated.jpg'
    Image.fromarray(img).save(path, exif=exif.tobytes())
    return str(path)


def test_loads_rgb_uint8(tmp_path):
    bgr = np.zeros((8, 12, 3), np.uint8)
    bgr[..., 0] = 200  # blue in BGR
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, bgr)
    out = LoadImage()(dict(img_path=path))
    assert out['img'].dtype == np.uint8 and out['img'].shape == (8, 12, 3)
    assert out['img'][0, 0].tolist() == [0, 0, 200]
    assert out['ori_shape'] == (8, 12) and out['img_shape'] == (8, 12)


def test_exif_orientation_honoured_by_default(exif_jpeg):
    assert LoadImage()(dict(img_path=exif_jpeg))['img'].shape[:2] == (60, 40)


def test_official_ignores_exif(exif_jpeg):
    out = LoadImage(official_ignore_exif=True)(dict(img_path=exif_jpeg))
    assert out['img'].shape[:2] == (40, 60)


def test_missing_file_names_path(tmp_path):
    path = str(tmp_path / 'nope.jpg')
    with pytest.raises(ImageReadError, match='nope.jpg'):
        LoadImage()(dict(img_path=path))


def test_corrupt_file_names_path(tmp_path):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(b'not an image at all')
    with pytest.raises(ImageReadError, match='broken.jpg'):
        LoadImage()(dict(img_path=str(path)))


def test_in_memory_image_is_used():
    img = np.full((5, 7, 3), 3, np.uint8)
    out = LoadImage()(dict(img=img, img_path='ignored.jpg'))
    assert out['img'] is not None and out['ori_shape'] == (5, 7)
    with pytest.raises(ValueError, match='RGB'):
        LoadImage()(dict(img=np.zeros((5, 7))))
