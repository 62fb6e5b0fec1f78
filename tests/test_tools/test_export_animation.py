"""``tools/misc/export_animation.py``: track files in, GLB/BVH/AMASS out, one-line errors."""


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
