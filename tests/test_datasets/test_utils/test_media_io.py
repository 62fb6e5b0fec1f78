import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from smplestx.datasets.utils.media_io import (
    SequentialVideoReader,
    count_frames,
    input_kind,
    iter_frames,
    probe_video,
)

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
    with pytest.raises(ValueError, match='cannot open video'):
        probe_video(str(tmp_path / 'broken.mp4'))


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """A 20-frame video, the same with frame 5 zeroed, and one cut after 12 frames."""
    from smplestx.testing.media import truncate_after, write_video, zero_frame

    root = tmp_path_factory.mktemp('videos')
    good, corrupt, short = root / 'good.mp4', root / 'corrupt.mp4', root / 'short.mp4'
    write_video(good, 20)
    zero_frame(good, corrupt, 5)
    truncate_after(good, short, 12)
    return good, corrupt, short


def test_a_corrupt_frame_is_skipped_and_the_rest_is_read(videos):
    """Issue 17 #3: reading used to stop at the corrupt frame (5 of 20 frames)."""
    _, corrupt, _ = videos
    clip = SequentialVideoReader(str(corrupt), 20).read(0)
    assert [f.index for f in clip.frames] == [i for i in range(20) if i != 5]
    assert [f.name for f in clip.frames][5] == '000006'
    assert clip.failures == [{'frames': [5, 5], 'error': 'could not be decoded'}]
    assert clip.end == 20
    frames = list(iter_frames(corrupt))  # the inferencer's reader skips it too
    assert len(frames) == 19


def test_a_truncated_video_reports_its_missing_frames(videos):
    """Issue 17 #3: a video that announces 20 frames but holds 12 gave no warning."""
    good, _, short = videos
    assert probe_video(str(short)).num_frames == 20
    clip = SequentialVideoReader(str(short), 20).read(0)
    assert [f.index for f in clip.frames] == list(range(12)) and clip.end == 12
    assert len(clip.failures) == 1 and clip.failures[0]['frames'] == [12, 19]
    assert 'ends at frame 12' in clip.failures[0]['error']
    full = SequentialVideoReader(str(good), 20).read(0)
    for a, b in zip(clip.frames, full.frames):
        np.testing.assert_array_equal(a.image, b.image)


def test_ranges_see_the_same_frames_however_they_are_split(videos):
    _, corrupt, short = videos
    for path, total in ((corrupt, 20), (short, 20)):
        whole = SequentialVideoReader(str(path), total).read(0)
        one = SequentialVideoReader(str(path), total)
        two = [SequentialVideoReader(str(path), total), SequentialVideoReader(str(path), total)]
        ranges = [(0, 4), (4, 8), (8, 16), (16, None)]
        for k, (start, stop) in enumerate(ranges):
            sequential, alternating = one.read(start, stop), two[k % 2].read(start, stop)
            for got in (sequential, alternating):
                expected = [f.index for f in whole.frames
                            if f.index >= start and (stop is None or f.index < stop)]
                assert [f.index for f in got.frames] == expected
                assert got.failures == [
                    f for f in whole.failures
                    if f['frames'][0] >= start and (stop is None or f['frames'][0] < stop)]
            for a, b in zip(sequential.frames, alternating.frames):
                np.testing.assert_array_equal(a.image, b.image)
