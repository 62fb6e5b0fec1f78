"""``tools/demo.py --export-animation``: animation files for videos (per track) and images."""

from pathlib import Path

import numpy as np
import pygltflib
import pytest

from smplestx.apis import demo as demo_api
from smplestx.testing.tools import load_tool

ROOT = Path(__file__).resolve().parents[2]
DEMO = 'tools/demo.py'
IMAGE, VIDEO = ROOT / 'demo' / 'astronaut.jpg', ROOT / 'demo' / 'astronaut_pan.mp4'


def _keyframe_times(path: Path) -> np.ndarray:
    gltf = pygltflib.GLTF2().load(str(path))
    accessor = gltf.accessors[gltf.animations[0].samplers[0].input]
    view = gltf.bufferViews[accessor.bufferView]
    return np.frombuffer(gltf.binary_blob(), np.float32, accessor.count,
                         (view.byteOffset or 0) + (accessor.byteOffset or 0))


@pytest.fixture(scope='module')
def demo_out(tmp_path_factory, body_model_path):
    out = tmp_path_factory.mktemp('demo_animation')
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_api, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
        code = load_tool(DEMO).main([str(VIDEO), str(IMAGE), '--whole-image', '--no-render',
                                     '--smooth', '--export-animation', 'glb', 'bvh', 'amass',
                                     'scene',
                                     '--fov', '60', '--out-dir', str(out), '--body-model-dir',
                                     str(body_model_path), '--no-progress', '--device', 'cpu'])
    assert code == 0
    return out


def test_video_gets_one_animation_per_track(demo_out):
    folder = demo_out / 'astronaut_pan' / 'animation'
    assert sorted(p.name for p in folder.iterdir()) == [
        'scene.glb', 'track_0000.bvh', 'track_0000.glb', 'track_0000.npz']
    # 20 frames at the video's 10 fps.
    np.testing.assert_allclose(_keyframe_times(folder / 'track_0000.glb'),
                               np.arange(20) / 10.0, atol=1e-6)
    with np.load(folder / 'track_0000.npz') as amass:
        assert amass['poses'].shape == (20, 165) and float(amass['mocap_frame_rate']) == 10.0
    with np.load(demo_out / 'astronaut_pan' / 'tracks' / 'track_0000.npz') as track:
        assert track['image_size'].tolist() == [240, 320]
    gltf = pygltflib.GLTF2().load(str(folder / 'track_0000.glb'))
    # --fov 60 on a 320-pixel-wide video: f = 160 / tan(30 deg); yfov = 2 atan(120 / f).
    focal = 160 / np.tan(np.radians(30))
    assert gltf.cameras[0].perspective.yfov == pytest.approx(2 * np.arctan(120 / focal))


def test_image_gets_a_single_frame_animation(demo_out):
    folder = demo_out / 'astronaut' / 'animation'
    assert (folder / 'astronaut_00.glb').is_file()
    assert len(_keyframe_times(folder / 'astronaut_00.glb')) == 1


def test_scene_holds_every_track_at_video_times(demo_out):
    """``scene.glb``: the video's track at absolute times (frame f at f / fps), joint names
    prefixed with the track's; the image's scene holds its person."""
    folder = demo_out / 'astronaut_pan' / 'animation'
    gltf = pygltflib.GLTF2().load(str(folder / 'scene.glb'))
    with np.load(demo_out / 'astronaut_pan' / 'tracks' / 'track_0000.npz') as track:
        frames = track['frame_index']
    np.testing.assert_allclose(_keyframe_times(folder / 'scene.glb'),
                               np.arange(frames[0], frames[-1] + 1) / 10.0, atol=1e-6)
    assert [p['name'] for p in gltf.scenes[0].extras['people']] == ['track_0000']
    assert gltf.nodes[gltf.scenes[0].extras['people'][0]['root_node']].name == (
        'track_0000_pelvis')
    image = pygltflib.GLTF2().load(str(demo_out / 'astronaut' / 'animation' / 'scene.glb'))
    assert [p['name'] for p in image.scenes[0].extras['people']] == ['astronaut_00']


def test_index_lists_the_animation_files(demo_out):
    import json

    for name, expected in (('astronaut_pan', ['scene.glb', 'track_0000.bvh', 'track_0000.glb',
                                                'track_0000.npz']),
                           ('astronaut', ['astronaut_00.bvh', 'astronaut_00.glb',
                                          'astronaut_00.npz', 'scene.glb'])):
        index = json.loads((demo_out / name / 'index.json').read_text())
        assert sorted(index['animation']) == [f'animation/{f}' for f in expected]


def test_rerun_without_export_removes_the_animation_files(tmp_path, body_model_path):
    """The formats are part of the settings: another choice redoes the input, no leftovers."""
    args = [str(IMAGE), '--whole-image', '--no-render', '--out-dir', str(tmp_path),
            '--body-model-dir', str(body_model_path), '--no-progress', '--device', 'cpu']
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_api, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
        tool = load_tool(DEMO)
        folder = tmp_path / 'astronaut' / 'animation'
        assert tool.main(args + ['--export-animation', 'glb', 'scene']) == 0
        assert sorted(p.name for p in folder.iterdir()) == ['astronaut_00.glb', 'scene.glb']
        scene = (folder / 'scene.glb').stat().st_mtime_ns
        assert tool.main(args + ['--export-animation', 'glb', 'scene']) == 0  # done: skipped
        assert (folder / 'scene.glb').stat().st_mtime_ns == scene
        assert tool.main(args + ['--export-animation', 'glb']) == 0  # no scene: removed
        assert sorted(p.name for p in folder.iterdir()) == ['astronaut_00.glb']
        assert tool.main(args) == 0
    assert not folder.exists()


def test_a_failing_export_leaves_no_files_of_the_input(tmp_path, body_model_path, monkeypatch,
                                                      capsys):
    """An error in an end-of-input step (here the scene export, after the per-person GLB was
    written and with half a scene file) removes everything of that input: no index.json, no
    half set of files."""
    from smplestx.apis.animation import export

    def save_then_fail(gltf, path):
        Path(path).write_bytes(b'half')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(demo_api, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
    monkeypatch.setattr(export, 'save_glb', save_then_fail)
    code = load_tool(DEMO).main([str(IMAGE), '--whole-image', '--export-animation', 'glb',
                                 'scene', '--out-dir', str(tmp_path), '--body-model-dir',
                                 str(body_model_path), '--no-progress', '--device', 'cpu'])
    assert code == 2
    assert 'No space left on device' in capsys.readouterr().err
    assert not [p for p in tmp_path.rglob('*') if p.is_file()]
