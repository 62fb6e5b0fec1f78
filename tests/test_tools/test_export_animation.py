"""``tools/misc/export_animation.py``: track files in, GLB/BVH/AMASS and scene out, one-line
errors."""

import pygltflib

from smplestx.testing.motion import synthetic_track
from smplestx.testing.tools import load_tool
from smplestx.utils.io import atomic_write_npz

TOOL = 'tools/misc/export_animation.py'


def test_exports_tracks_and_reports_the_residual(tmp_path, body_model_path, capsys):
    track, _ = synthetic_track(str(body_model_path), num_frames=3)
    path = tmp_path / 'clip' / 'tracks' / 'track_0002.npz'
    atomic_write_npz(path, track)
    assert load_tool(TOOL).main([str(path), '--format', 'glb', 'bvh', '--body-model-dir',
                         str(body_model_path), '--report-residual']) == 0
    folder = tmp_path / 'clip' / 'animation'
    assert sorted(p.name for p in folder.iterdir()) == ['track_0002.bvh', 'track_0002.glb']
    out = capsys.readouterr().out
    assert 'pose-corrective residual over 3 frames: mean' in out
    assert load_tool(TOOL).main([str(path), '--format', 'amass', '--out-dir', str(tmp_path / 'x'),
                         '--body-model-dir', str(body_model_path)]) == 0
    assert (tmp_path / 'x' / 'track_0002.npz').is_file()


def test_bad_input_is_one_line(tmp_path, body_model_path, capsys):
    missing = tmp_path / 'none.npz'
    assert load_tool(TOOL).main([str(missing), '--body-model-dir', str(body_model_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'error: track file {missing} does not exist']


def test_scene_of_the_tracks_of_a_video(tmp_path, body_model_path, capsys):
    """``--format scene``: one scene.glb per video with every given track (different frame
    ranges); a scene into one --out-dir from two videos is refused in one line."""
    paths = []
    for video, name, frames in (('clip', 'track_0000', (0, 1, 2)),
                                ('clip', 'track_0001', (2, 4, 5)),
                                ('other', 'track_0000', (0, 1))):
        track, _ = synthetic_track(str(body_model_path), num_frames=len(frames),
                                   frame_index=frames)
        paths.append(tmp_path / video / 'tracks' / f'{name}.npz')
        atomic_write_npz(paths[-1], track)
    tool = load_tool(TOOL)
    assert tool.main([str(p) for p in paths[:2]] + ['--format', 'scene', '--body-model-dir',
                                                    str(body_model_path)]) == 0
    folder = tmp_path / 'clip' / 'animation'
    assert sorted(p.name for p in folder.iterdir()) == ['scene.glb']
    assert f'2 track(s) -> {folder / "scene.glb"}' in capsys.readouterr().out
    extras = pygltflib.GLTF2().load(str(folder / 'scene.glb')).scenes[0].extras
    assert [(p['name'], p['first_frame'], p['last_frame']) for p in extras['people']] == [
        ('track_0000', 0, 2), ('track_0001', 2, 5)]
    assert tool.main([str(p) for p in paths] + ['--format', 'scene', '--out-dir',
                                                str(tmp_path / 'x'), '--body-model-dir',
                                                str(body_model_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: --format scene writes one scene.glb per '
                                               'video, but the tracks come from 2 videos')
    assert not (tmp_path / 'x').exists()
