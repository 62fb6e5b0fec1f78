"""The web demo through its API, as a script would use it (``gradio_client``)."""

import re
import zipfile
from pathlib import Path

import cv2
import pytest
from webui_utils import IMAGE, MAX_UPLOAD_MB, VIDEO, tiny_video

from smplestx.apis.webui.app import escape_markdown, notice_markdown
from smplestx.apis.webui.jobs import animation_problem

EXPORTER = animation_problem() is None
#: Inputs of the ``/run`` endpoint after the upload, in page order: person source, score
#: threshold, max people (0: all), track, smooth, min cutoff, beta, mesh opacity, boxes,
#: keypoints.
DEFAULTS = ('whole_image', 0.5, 0, True, False, 1.0, 0.5, 0.8, True, False)


@pytest.fixture(scope='module')
def client(web_app, tmp_path_factory):
    gradio_client = pytest.importorskip('gradio_client')
    client = gradio_client.Client(web_app.url, download_files=str(
        tmp_path_factory.mktemp('client_downloads')), verbose=False)
    yield client
    client.close()


def run(client, path, *options):
    """The outputs of ``/run``, the status (Markdown) without its escapes."""
    from gradio_client import handle_file

    status, *outputs = client.predict(handle_file(str(path)), *(options or DEFAULTS),
                                      api_name='/run')
    return (re.sub(r'\\(.)', r'\1', status), *outputs)


def test_api_has_one_endpoint(client):
    assert list(client.view_api(print_info=False, return_format='dict')['named_endpoints']) == [
        '/run']


def test_image_returns_overlay_and_parameters(client):
    status, overlay, video, view3d, params, glb, bvh = run(client, IMAGE)
    assert status.startswith('astronaut.jpg: 1 person in 1 frame, ')
    assert '**Placeholder model: these results are not estimates.**' in status
    assert video is None
    assert cv2.imread(overlay).shape == (512, 512, 3)
    with zipfile.ZipFile(params) as archive:
        assert sorted(archive.namelist()) == ['astronaut/index.json',
                                              'astronaut/smplx/astronaut_00.npz']
    if not EXPORTER:
        assert 'need the animation exporter' in status and (view3d, glb, bvh) == (None, None, None)
    else:
        assert Path(view3d).read_bytes()[:4] == b'glTF'
        assert [Path(p).suffix for p in glb] == ['.glb'] and [Path(p).suffix for p in bvh] == [
            '.bvh']
        assert Path(bvh[0]).read_text().startswith('HIERARCHY')


def test_video_returns_h264_and_tracks(client):
    status, overlay, video, view3d, params, glb, bvh = run(client, VIDEO, 'whole_image', 0.5,
                                                           0, True, True, 1.0, 0.5, 0.8, True,
                                                           False)
    assert status.startswith('astronaut_pan.mp4: 20 people in 20 frames, ')
    assert ', 1 track.' in status
    assert overlay is None
    assert Path(video).suffix == '.mp4'
    assert cv2.VideoCapture(video).get(cv2.CAP_PROP_FRAME_COUNT) == 20
    with zipfile.ZipFile(params) as archive:
        assert 'astronaut_pan/tracks/track_0000.npz' in archive.namelist()
    if EXPORTER:
        assert len(glb) == len(bvh) == 1 and Path(view3d).read_bytes()[:4] == b'glTF'


def test_bad_uploads_get_a_message(client, tmp_path):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not an image')
    status, *outputs = run(client, broken)
    assert status.startswith('**Error:** ') and 'broken.jpg' in status
    assert str(tmp_path) not in status and outputs[1:] == [None] * 5
    status, *_ = run(client, tiny_video(tmp_path / 'tiny.mp4'))
    assert status.startswith('No people were found in the video (tiny.mp4, 3 frames)')


def test_upload_size_is_limited(web_app, tmp_path):
    import httpx

    big = tmp_path / 'big.jpg'
    big.write_bytes(b'\0' * (MAX_UPLOAD_MB * 1024 * 1024 + 1))
    with big.open('rb') as f:
        answer = httpx.post(f'{web_app.url}gradio_api/upload', files={'files': f}, timeout=30)
    assert answer.status_code == 413


def test_messages_are_shown_literally():
    assert escape_markdown('no __absent__.pth [x](y) <b>') == (
        r'no \_\_absent\_\_.pth \[x\](y) \<b\>')
    assert notice_markdown(None) == ''
    assert notice_markdown('notice: no weights: placeholders') == (
        '**Placeholder model: these results are not estimates.** no weights: placeholders')


def test_the_server_talks_to_no_other_host(client, web_app):
    run(client, IMAGE)  # a whole job, after start-up: neither contacts another host
    assert web_app.hosts, 'nothing recorded: the client itself connects to the server'
    assert web_app.hosts <= {'127.0.0.1', 'localhost', '::1'}, web_app.hosts
