import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from smplestx.datasets.utils.media_io import count_frames, input_kind, iter_frames

DEMO = Path(__file__).resolve().parents[3] / 'demo'


def test_image_video_folder_and_array(tmp_path):
    image = list(iter_frames(DEMO / 'astronaut.jpg'))
    assert len(image) == 1 and image[0].name == 'astronaut'
    assert image[0].image.shape == (512, 512, 3)
    bgr = cv2.imread(str(DEMO / 'astronaut.jpg'))
    np.testing.assert_array_equal(image[0].image_bgr, bgr)
    video = list(iter_frames(str(DEMO / 'astronaut_pan.mp4')))
    assert len(video) == 20 == count_frames(DEMO / 'astronaut_pan.mp4')
    assert [f.name for f in video[:2]] == ['000000', '000001']
    assert video[3].image.shape == (240, 320, 3)
    folder = tmp_path / 'imgs'
    folder.mkdir()
    shutil.copy(DEMO / 'astronaut.jpg', folder / 'b.jpg')
    shutil.copy(DEMO / 'astronaut.jpg', folder / 'a.png')
    cv2.imwrite(str(folder / 'a.jpg'), bgr[:10, :20])
    (folder / 'notes.txt').write_text('x')
    frames = list(iter_frames([str(folder), bgr]))
    assert [f.name for f in frames] == ['a_000000', 'a_000001', 'b', '000003']
    assert [f.index for f in frames] == [0, 1, 2, 3] and frames[3].source is None
    np.testing.assert_array_equal(frames[3].image, bgr[..., ::-1])
    assert count_frames(folder) == 3


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        input_kind(tmp_path / 'nope.jpg')
    (tmp_path / 'x.txt').write_text('')
    with pytest.raises(ValueError, match="unknown file type '.txt'"):
        input_kind(tmp_path / 'x.txt')
    with pytest.raises(ValueError, match='BGR images'):
        list(iter_frames(np.zeros((4, 4))))
    (tmp_path / 'broken.mp4').write_bytes(b'not a video')
    with pytest.raises(ValueError, match='cannot open video'):
        list(iter_frames(tmp_path / 'broken.mp4'))
