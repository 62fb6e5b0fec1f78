"""Track files in, clips out: gaps, hand mean, bad files, image sizes."""

import json

import numpy as np
import pytest

from smplestx.apis.animation import TrackFileError, clip_from_track


def test_gap_is_filled_between_neighbours(exported):
    clip = exported['clip']
    np.testing.assert_array_equal(clip.frame_index, np.arange(7))
    np.testing.assert_array_equal(clip.observed, [True, True, True, False, True, True, True])
    np.testing.assert_allclose(clip.expression[3], (clip.expression[2] + clip.expression[4]) / 2)
    np.testing.assert_allclose(clip.rig.betas, exported['track']['betas'].mean(0), atol=1e-6)


def test_missing_keys_and_files_are_named(tmp_path, shape_space):
    with pytest.raises(TrackFileError, match='does not exist'):
        clip_from_track(str(tmp_path / 'none.npz'), shape_space)
    bad = tmp_path / 'bad.npz'
    np.savez(bad, betas=np.zeros((2, 10)))
    with pytest.raises(TrackFileError, match=r'bad\.npz has no global_orient'):
        clip_from_track(str(bad), shape_space)
    broken = tmp_path / 'broken.npz'
    broken.write_bytes(b'not a zip')
    with pytest.raises(TrackFileError, match=r'broken\.npz is not a readable'):
        clip_from_track(str(broken), shape_space)


def test_image_size_from_index_json(exported, tmp_path, shape_space):
    arrays = {k: v for k, v in exported['track'].items() if k != 'image_size'}
    path = tmp_path / 'video' / 'tracks' / 'track_0001.npz'
    path.parent.mkdir(parents=True)
    np.savez(path, **arrays)
    with pytest.raises(TrackFileError, match='video size'):
        clip_from_track(str(path), shape_space)
    (tmp_path / 'video' / 'index.json').write_text(json.dumps(
        {'frames': [{'image_size': [480, 640]}]}))
    clip = clip_from_track(str(path), shape_space)
    assert clip.camera.image_size == (640, 480)
    assert clip.camera.focal == pytest.approx(800.0)


def test_single_person_file_gives_one_frame(exported, tmp_path, shape_space):
    track = exported['track']
    person = {k: track[k][:1] for k in ('global_orient', 'body_pose', 'left_hand_pose',
                                        'right_hand_pose', 'jaw_pose', 'betas', 'expression',
                                        'transl')}
    person.update(focal=track['focal'][0], princpt=track['princpt'][0])
    path = tmp_path / 'img' / 'smplx' / 'img_00.npz'
    path.parent.mkdir(parents=True)
    np.savez(path, **person)
    clip = clip_from_track(str(path), shape_space, image_size=(640, 480))
    assert clip.num_frames == 1 and clip.fps == 30.0
