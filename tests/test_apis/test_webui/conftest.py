"""A web demo on the tiny placeholder model, shared by the tests of this folder.

The model is built once per session without the released weights or SMPL-X files (a
seeded tiny model on a generated stand-in body model), exactly as a fresh install runs.
"""

import os
import socket
from pathlib import Path

import pytest
from webui_utils import MAX_UPLOAD_MB

from smplestx.apis import demo as demo_api
from smplestx.testing.tools import free_port
from smplestx.utils.body_model_files import BODY_MODELS_ENV
from smplestx.utils.offline import OFFLINE_ENVIRONMENT


@pytest.fixture(scope='session')
def web_demo(tmp_path_factory):
    """A :class:`WebDemo` with placeholder weights and a stand-in body model."""
    from smplestx.apis.webui.jobs import WebDemo

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_api, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
        patch.delenv(BODY_MODELS_ENV, raising=False)
        yield WebDemo(device='cpu', batch_size=4, log=lambda line: None,
                      standin_dir=str(tmp_path_factory.mktemp('cache') / 'standin'))


class RunningApp:
    """A launched app: its URL, its upload folder, its session files, and every host this
    process connected to or looked up while it ran."""

    def __init__(self, app, upload_dir: Path, hosts: set) -> None:
        self.app = app
        self.url = app.local_url.rstrip('/') + '/'
        self.upload_dir = upload_dir
        self.sessions_dir = upload_dir / 'sessions'
        self.hosts = hosts


def record_hosts(patch: pytest.MonkeyPatch) -> set:
    """Record the host of every socket connection and name lookup of this process."""
    hosts = set()
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def recording_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            hosts.add(address[0])
        return connect(sock, address)

    def recording_getaddrinfo(host, *args, **kwargs):
        hosts.add(host)
        return getaddrinfo(host, *args, **kwargs)

    patch.setattr(socket.socket, 'connect', recording_connect)
    patch.setattr(socket, 'getaddrinfo', recording_getaddrinfo)
    return hosts


@pytest.fixture(scope='module')
def web_app(web_demo, tmp_path_factory):
    """The Gradio app of ``web_demo``, served on a free loopback port (one per test module,
    so that each module sees only its own sessions)."""
    pytest.importorskip('gradio', reason='the web demo needs Gradio: pip install -e ".[web]" '
                        '(tools/install.sh and CI install it)')
    from smplestx.apis.webui import app as webapp

    upload_dir = tmp_path_factory.mktemp('webui') / 'gradio'
    with pytest.MonkeyPatch.context() as patch:
        for key, value in OFFLINE_ENVIRONMENT.items():
            patch.setenv(key, value)
        patch.setenv('GRADIO_TEMP_DIR', os.environ.get('GRADIO_TEMP_DIR', ''))  # restored after
        # tools/webui.py sets the environment before the hub client is imported; this
        # process imported it already (timm), so its constants are set as the environment
        # would have set them.
        import huggingface_hub.constants as hub

        patch.setattr(hub, 'HF_HUB_OFFLINE', True)
        patch.setattr(hub, 'HF_HUB_DISABLE_TELEMETRY', True)
        hosts = record_hosts(patch)
        app = webapp.build_app(web_demo, str(upload_dir))
        webapp.launch(app, port=free_port(), max_upload_mb=MAX_UPLOAD_MB, block=False)
        try:
            yield RunningApp(app, upload_dir, hosts)
        finally:
            app.close()
