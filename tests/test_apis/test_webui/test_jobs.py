import json
import re
import subprocess
import zipfile

import cv2
import numpy as np
import pytest
from webui_utils import IMAGE, VIDEO, tiny_video

from smplestx.apis.webui.jobs import (
    JobError,
    JobOptions,
    JobResult,
    WebDemo,
    animation_problem,
    safe_name,
)
from smplestx.apis.webui.video import ffmpeg_exe

EXPORTER = animation_problem() is None


def video_codec(path) -> str:
    probe = subprocess.run([ffmpeg_exe(), '-hide_banner', '-i', str(path)], capture_output=True,
                           text=True)
    return re.search(r'Video: (\w+)', probe.stderr).group(1)


def zip_members(path):
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist())


def test_image_job(web_demo, tmp_path):
    result = web_demo.run_job(str(IMAGE), JobOptions(), str(tmp_path / 'job'))
    assert result.kind == 'image' and result.video is None
    assert result.num_frames == 1 and result.num_people == 1
    assert result.message.startswith('astronaut.jpg: 1 person in 1 frame, ')
    assert result.notice.startswith('notice: ') and 'placeholders' in result.notice
    overlay = cv2.imread(result.overlay)
    assert overlay.shape == (512, 512, 3)
    assert np.abs(overlay.astype(int) - cv2.imread(str(IMAGE)).astype(int)).mean() > 2
    assert zip_members(result.params_zip) == ['astronaut/index.json',
                                              'astronaut/smplx/astronaut_00.npz']
    with zipfile.ZipFile(result.params_zip) as archive:
        assert json.loads(archive.read('astronaut/index.json'))['num_people'] == 1
    if not EXPORTER:
        assert result.glb == [] and result.bvh == [] and result.view3d is None
        assert 'animation exporter' in result.animation_note
    else:
        assert result.animation_note is None
        assert [p.endswith('.glb') for p in result.glb] == [True]
        assert [p.endswith('.bvh') for p in result.bvh] == [True]
        assert result.view3d == result.glb[0] and result.scene.endswith('scene.glb')


def test_video_job_is_browser_playable(web_demo, tmp_path):
    result = web_demo.run_job(str(VIDEO), JobOptions(smooth=True), str(tmp_path / 'job'))
    assert result.kind == 'video' and result.overlay is None
    assert result.num_frames == 20 and result.num_people == 20
    assert result.message.endswith(', 1 track.')
    index = json.loads((tmp_path / 'job/out/astronaut_pan/index.json').read_text())
    assert index['smoothing'] == {'fps': 10.0, 'min_cutoff': 1.0, 'beta': 0.5}
    assert video_codec(tmp_path / 'job/out/astronaut_pan' / index['video']) == 'mpeg4'
    assert video_codec(result.video) == 'h264'
    capture = cv2.VideoCapture(result.video)
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 20
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
        320, 240)
    members = zip_members(result.params_zip)
    assert 'astronaut_pan/tracks/track_0000.npz' in members and len(members) == 22
    if EXPORTER:
        assert len(result.glb) == len(result.bvh) == 1 and result.view3d == result.glb[0]
        assert result.scene.endswith('/animation/scene.glb')  # written, shown with 2+ tracks


@pytest.mark.skipif(not EXPORTER, reason='needs the animation exporter')
def test_3d_view_shows_the_scene_of_several_tracks(tmp_path):
    """Several tracks and a scene.glb listed in index.json: the 3D view shows the scene; one
    track, or no scene written: the (longest) track's own GLB."""
    def collect(tracks, scene):
        out = tmp_path / f'{len(tracks)}_{scene}'
        files = [f'animation/track_{i:04d}.{ext}' for i, _ in tracks for ext in ('glb', 'bvh')]
        files += ['animation/scene.glb'] if scene else []
        for rel in files:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(b'glTF')
        index = {'tracks': [{'id': i, 'num_frames': n, 'file': f'tracks/track_{i:04d}.npz'}
                            for i, n in tracks], 'animation': files}
        result = JobResult(kind='video', out_dir=str(out))
        WebDemo._find_animation(result, index)
        return out, result

    out, result = collect([(0, 5), (1, 8)], scene=True)
    assert [p.rsplit('/', 1)[1] for p in result.glb] == ['track_0001.glb', 'track_0000.glb']
    assert result.scene == result.view3d == str(out / 'animation' / 'scene.glb')
    out, result = collect([(0, 5), (1, 8)], scene=False)
    assert result.scene is None and result.view3d == result.glb[0]
    out, result = collect([(0, 5)], scene=True)
    assert result.scene == str(out / 'animation' / 'scene.glb')
    assert result.view3d == result.glb[0] == str(out / 'animation' / 'track_0000.glb')


def test_options_reach_the_demo(web_demo, tmp_path):
    plain = web_demo.run_job(str(IMAGE), JobOptions(show_boxes=False, mesh_alpha=0.0),
                             str(tmp_path / 'a'))
    # Invisible mesh, no box: the overlay is the photo (up to JPEG re-encoding).
    diff = np.abs(cv2.imread(plain.overlay).astype(int) - cv2.imread(str(IMAGE)).astype(int))
    assert diff.mean() < 2
    # index.json records this job's settings and the model built at start.
    settings = json.loads((tmp_path / 'a/out/astronaut/index.json').read_text())['settings']
    assert settings['boxes'] == 'whole_image' and settings['precision'] == 'fp32'
    assert settings['seed'] == web_demo.seed and settings['visualizer']['alpha'] == 0.0
    untracked = web_demo.run_job(str(VIDEO), JobOptions(track=False), str(tmp_path / 'b'))
    assert 'tracks' not in json.loads((tmp_path / 'b/out/astronaut_pan/index.json').read_text())
    if EXPORTER:
        assert untracked.glb == [] and 'turn on tracking' in untracked.animation_note


def test_jobs_leave_no_mmengine_instances_behind(web_demo, tmp_path):
    from mmengine.logging import MessageHub, MMLogger

    from smplestx.visualization import SMPLXVisualizer

    def count():
        return [len(m._instance_dict) for m in (MMLogger, MessageHub, SMPLXVisualizer)]

    web_demo.run_job(str(IMAGE), JobOptions(), str(tmp_path / 'first'))
    before = count()
    for i in range(2):
        web_demo.run_job(str(IMAGE), JobOptions(), str(tmp_path / f'job{i}'))
    assert count() == before


def test_video_without_people_says_so(web_demo, tmp_path):
    video = tiny_video(tmp_path / 'tiny.mp4')
    result = web_demo.run_job(str(video), JobOptions(), str(tmp_path / 'job'))
    assert result.num_frames == 3 and result.num_people == 0
    assert result.message == ('No people were found in the video (tiny.mp4, 3 frames): the '
                              'frames are smaller than the smallest person box, 16x32 pixels.')
    assert result.glb == [] and result.view3d is None


@pytest.mark.parametrize('name, content, expected', [
    ('broken.jpg', b'not an image', 'broken.jpg'),
    ('broken.mp4', b'not a video', 'cannot open video broken.mp4'),
    ('notes.txt', b'text', "input notes.txt: unknown file type '.txt'"),
])
def test_bad_upload_is_one_line_naming_the_file(web_demo, tmp_path, name, content, expected):
    upload = tmp_path / 'uploads' / name
    upload.parent.mkdir()
    upload.write_bytes(content)
    with pytest.raises(JobError) as err:
        web_demo.run_job(str(upload), JobOptions(), str(tmp_path / 'job'))
    message = str(err.value)
    assert expected in message and '\n' not in message
    assert str(tmp_path) not in message


def test_detector_without_weights_and_bad_options(web_demo, tmp_path):
    with pytest.raises(JobError, match='person detector is not available: no person detector '
                       'was given at start'):
        web_demo.run_job(str(IMAGE), JobOptions(person_source='detector'), str(tmp_path))
    for options, match in ((JobOptions(det_score_thr=1.5), 'score threshold'),
                           (JobOptions(max_people=0), 'max people'),
                           (JobOptions(person_source='boxes'), 'unknown person source')):
        with pytest.raises(JobError, match=match):
            web_demo.run_job(str(IMAGE), options, str(tmp_path))


def test_server_errors_are_one_line_too(web_demo, tmp_path, monkeypatch):
    from smplestx.apis.webui import jobs

    def full_disk(*args, **kwargs):
        raise OSError(28, f'cannot write the outputs of {tmp_path / "job/input/astronaut.jpg"}'
                          f': No space left on device')

    monkeypatch.setattr(jobs, 'run_demo', full_disk)
    with pytest.raises(JobError) as err:
        web_demo.run_job(str(IMAGE), JobOptions(), str(tmp_path / 'job'))
    assert str(err.value) == ('[Errno 28] cannot write the outputs of astronaut.jpg: No space '
                              'left on device')


def test_long_video_is_refused(web_demo, tmp_path, monkeypatch):
    monkeypatch.setattr(web_demo, 'max_frames', 10)
    with pytest.raises(JobError, match='astronaut_pan.mp4 has 20 frames; this demo accepts '
                       'videos of at most 10 frames'):
        web_demo.run_job(str(VIDEO), JobOptions(), str(tmp_path))


def test_safe_name():
    assert safe_name('/tmp/x/My Photo (1).JPG') == 'My_Photo_1.jpg'
    assert safe_name('../../..') == 'upload'
    assert safe_name('a' * 100 + '.mp4') == 'a' * 64 + '.mp4'
