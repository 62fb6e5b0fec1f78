import shutil
from pathlib import Path

import cv2
import pytest

from smplestx.datasets import MediaDataset
from smplestx.datasets.media_dataset import describe_inputs, output_names, split_units
from smplestx.datasets.utils.media_io import MediaReadError

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / 'demo' / 'astronaut.jpg'
VIDEO = ROOT / 'demo' / 'astronaut_pan.mp4'


def test_output_names_keep_unique_stems_and_tell_collisions_apart(tmp_path):
    """Issue 17 #1: inputs with the same stem used to share (and overwrite) one folder."""
    for sub in ('cam1', 'cam2', 'a/shots', 'b/shots'):
        (tmp_path / sub).mkdir(parents=True)
    paths = [str(tmp_path / p) for p in ('cam1/frame.jpg', 'cam2/frame.jpg', 'x.jpg', 'x.mp4',
                                         'a/shots', 'b/shots', 'solo.png')]
    kinds = ['image', 'image', 'image', 'video', 'folder', 'folder', 'image']
    assert output_names(paths, kinds) == ['cam1_frame', 'cam2_frame', 'x_jpg', 'x_mp4',
                                          'a_shots', 'b_shots', 'solo']
    # The README's single input keeps its plain name.
    assert output_names([str(IMAGE)], ['image']) == ['astronaut']
    # A folder and an image of the same name, and a name that a disambiguation produced.
    assert output_names([str(tmp_path / 'a' / 'shots'), str(tmp_path / 'a' / 'shots.jpg')],
                        ['folder', 'image']) == ['shots', 'shots_jpg']
    assert output_names([str(tmp_path / 'x.jpg'), str(tmp_path / 'x.mp4'),
                         str(tmp_path / 'x_jpg.png')], ['image', 'video', 'image']) == [
                             'x_jpg', 'x_mp4', 'x_jpg_2']


def test_describe_inputs(tmp_path):
    folder = tmp_path / 'shots'
    folder.mkdir()
    for name in ('b.jpg', 'a.jpg', 'a.png'):
        shutil.copy(IMAGE, folder / name)
    (folder / 'notes.txt').write_text('x')
    inputs = describe_inputs([str(folder), str(IMAGE), str(VIDEO), str(IMAGE)])
    assert [(i.kind, i.name, i.num_frames) for i in inputs] == [
        ('folder', 'shots', 3), ('image', 'astronaut', 1), ('video', 'astronaut_pan', 20)]
    assert inputs[0].frame_names == ['a_000000', 'a_000001', 'b']
    assert inputs[2].fps == pytest.approx(10.0)
    before = inputs[0].fingerprint
    shutil.copy(VIDEO, folder / 'c.jpg')  # a new image changes the folder's fingerprint
    assert describe_inputs([str(folder)])[0].fingerprint != before
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='holds no images'):
        describe_inputs([str(empty)])
    (tmp_path / 'bad.mp4').write_bytes(b'x')
    with pytest.raises(MediaReadError, match='cannot open video'):
        describe_inputs([str(tmp_path / 'bad.mp4')])


def test_units_and_clips(tmp_path):
    folder = tmp_path / 'shots'
    folder.mkdir()
    for i in range(5):
        shutil.copy(IMAGE, folder / f'{i}.jpg')
    (folder / '2.jpg').write_bytes(b'not a jpeg')
    inputs = describe_inputs([str(folder), str(VIDEO)])
    units = split_units(inputs, part_size=2)
    assert [(u.input, u.part, u.num_parts, u.first, u.stop, u.weight) for u in units] == [
        (0, 0, 3, 0, 2, 2), (0, 1, 3, 2, 4, 2), (0, 2, 3, 4, 5, 1), (1, 0, 1, 0, None, 20)]
    dataset = MediaDataset(inputs, units, clip_len=8)
    assert dataset.unit_weights() == [2, 2, 1, 20]
    assert [len(ids) for ids in dataset.unit_clips] == [2, 2, 1, 3]
    items = [dataset[i] for i in range(len(dataset))]
    assert [i.index for item in items for i in item['frames']][:4] == [0, 1, 3, 4]
    part = items[2]  # the first clip of part 1 holds the unreadable image
    assert part['begin'] and not part['end'] and part['frames'] == []
    assert part['failures'][0]['file'].endswith('2.jpg') and part['failures'][0]['frame'] == 2
    video = items[5:]
    assert [(c['begin'], c['end']) for c in video] == [(True, False), (False, False),
                                                        (False, True)]
    assert [f.index for c in video for f in c['frames']] == list(range(20))
    assert video[-1]['video_end'] == 20 and video[0]['input']['fps'] == pytest.approx(10.0)
    strict = MediaDataset(inputs, units, strict=True)
    with pytest.raises(OSError, match='2.jpg'):
        strict[2]


def test_a_video_ends_in_any_clip(tmp_path):
    path = tmp_path / 'three.mp4'
    image = cv2.imread(str(IMAGE))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5.0, (64, 64))
    for _ in range(3):
        writer.write(cv2.resize(image, (64, 64)))
    writer.release()
    dataset = MediaDataset([str(path)], clip_len=2)
    clips = [dataset[i] for i in range(len(dataset))]
    assert [[f.index for f in c['frames']] for c in clips] == [[0, 1], [2]]
    assert clips[-1]['video_end'] == 3 and not clips[-1]['failures']
