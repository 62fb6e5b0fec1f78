"""The default detector weights are downloaded once into the torch hub cache and verified.

The tests serve files from an HTTP server they start on 127.0.0.1 (no outside network).
"""

import functools
import http.server
import threading
from pathlib import Path

import pytest
import torch

from smplestx.apis import detection
from smplestx.apis.detection import (
    DEFAULT_DET_WEIGHTS_SHA256,
    DEFAULT_DET_WEIGHTS_URL,
    DetectorUnavailableError,
    detector_weights_path,
    ensure_detector_weights,
)
from smplestx.utils.io import file_sha256


@pytest.fixture
def server(tmp_path):
    """``(base_url, folder, requests)``: a local HTTP server of ``folder`` and its GETs."""
    folder = tmp_path / 'www'
    folder.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):

        def do_GET(self):  # noqa: N802 (http.server's name)
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                            functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}', folder, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    return tmp_path / 'torch' / 'hub' / 'checkpoints'


def _checkpoint(path: Path) -> str:
    torch.manual_seed(0)
    torch.save({'state_dict': {'backbone.weight': torch.randn(8, 3, 3, 3),
                               'bbox_head.bias': torch.randn(80)}}, path)
    return file_sha256(path)


def test_downloaded_once_and_verified(server, hub):
    base, folder, requests = server
    digest = _checkpoint(folder / 'rtmdet.pth')
    path = ensure_detector_weights(f'{base}/rtmdet.pth', digest, progress=False)
    assert Path(path) == hub / 'rtmdet.pth' and file_sha256(path) == digest
    assert ensure_detector_weights(f'{base}/rtmdet.pth', digest[:8], progress=False) == path
    assert requests == ['/rtmdet.pth']  # the second call used the cache
    assert sorted(p.name for p in hub.iterdir()) == ['rtmdet.pth']


def test_a_corrupted_download_is_refused_and_not_kept(server, hub):
    base, folder, requests = server
    digest = _checkpoint(folder / 'rtmdet.pth')
    data = bytearray((folder / 'rtmdet.pth').read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / 'rtmdet.pth').write_bytes(bytes(data))
    with pytest.raises(DetectorUnavailableError, match='corrupt.*nothing was kept'):
        ensure_detector_weights(f'{base}/rtmdet.pth', digest, progress=False)
    assert requests == ['/rtmdet.pth'] and list(hub.iterdir()) == []
    (hub / 'rtmdet.pth').write_bytes(bytes(data))  # e.g. copied there by hand
    with pytest.raises(DetectorUnavailableError, match='do not match'):
        ensure_detector_weights(f'{base}/rtmdet.pth', digest, progress=False)


def test_offline_says_what_to_download_and_where(server, hub):
    base, _, _ = server
    with pytest.raises(DetectorUnavailableError) as info:
        ensure_detector_weights(f'{base}/missing.pth', '0' * 64, progress=False)
    message = str(info.value)
    assert f'{base}/missing.pth' in message and str(hub / 'missing.pth') in message
    assert '--det-checkpoint' in message and '\n' not in message
    assert list(hub.iterdir()) == []


def test_the_published_weights_are_recorded():
    assert DEFAULT_DET_WEIGHTS_URL.startswith('https://download.openmmlab.com/')
    assert DEFAULT_DET_WEIGHTS_URL.endswith(f'-{DEFAULT_DET_WEIGHTS_SHA256}.pth')
    assert detector_weights_path().endswith(detection.DEFAULT_DET_WEIGHTS_FILE)
