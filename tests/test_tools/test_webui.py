"""``tools/webui.py``: one-line errors; a server on loopback that talks to no other host and
stops cleanly."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from smplestx.apis import demo as demo_api
from smplestx.testing.tools import free_port, load_tool
from smplestx.utils.body_model_files import BODY_MODELS_ENV
from smplestx.utils.offline import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def listening_addresses(port: int):
    """IPv4 addresses listening on ``port`` (from /proc/net/tcp)."""
    found = []
    for line in Path('/proc/net/tcp').read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(':')
        if state == '0A' and int(hex_port, 16) == port:
            found.append('.'.join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


#: ``sitecustomize`` of the tool's process: appends every host it connects to or looks up.
HOST_RECORDER = '''
import socket

_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo


def _record(host):
    with open({path!r}, 'a') as f:
        f.write(str(host) + '\\n')


def _recording_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        _record(address[0])
    return _connect(sock, address)


def _recording_getaddrinfo(host, *args, **kwargs):
    _record(host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _recording_connect
socket.getaddrinfo = _recording_getaddrinfo
'''


def test_errors_are_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip('gradio', reason='the web demo needs Gradio: pip install -e ".[web]"')
    for key in OFFLINE_ENVIRONMENT:  # main() sets them: restored after the test
        monkeypatch.setenv(key, os.environ.get(key, ''))
    tool = load_tool('tools/webui.py')
    assert tool.main(['--checkpoint', str(tmp_path / 'missing.pth'), '--work-dir',
                      str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'error: checkpoint {tmp_path / "missing.pth"} does not exist')
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'gradio' else real_find_spec(name, *a))
    assert tool.main([]) == 2
    assert capsys.readouterr().err.strip() == (
        'error: the web demo needs Gradio (Python >= 3.10): pip install -e ".[web]"')


def test_serves_on_loopback_and_cleans_up(tmp_path):
    pytest.importorskip('gradio', reason='the web demo needs Gradio: pip install -e ".[web]"')
    if any((ROOT / c).is_file() for c in demo_api.DEFAULT_CHECKPOINTS):
        pytest.skip('released weights in the repository: the tool would load them')
    port = free_port()
    hooks, hosts_file = tmp_path / 'hooks', tmp_path / 'hosts.txt'
    hooks.mkdir()
    (hooks / 'sitecustomize.py').write_text(HOST_RECORDER.format(path=str(hosts_file)))
    env = {k: v for k, v in os.environ.items() if k != BODY_MODELS_ENV}
    env.update(TMPDIR=str(tmp_path), CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(filter(None, [str(hooks),
                                                        os.environ.get('PYTHONPATH')])))
    log = tmp_path / 'server.log'
    with log.open('w') as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'tools' / 'webui.py'), '--port', str(port),
             '--config', demo_api.TINY_CONFIG, '--standin-dir', str(tmp_path / 'standin')],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline, page = time.time() + 180, ''
    try:
        while proc.poll() is None and time.time() < deadline and not page:
            time.sleep(0.5)
            try:
                with opener.open(f'http://127.0.0.1:{port}/config', timeout=5) as answer:
                    page = answer.read().decode()
            except OSError:
                continue
        assert page, f'no answer on port {port}:\n{log.read_text()[-3000:]}'
        assert listening_addresses(port) == ['127.0.0.1']
        hosts = set(hosts_file.read_text().split())
        assert '127.0.0.1' in hosts and hosts <= {'127.0.0.1', 'localhost', '::1'}, hosts
        assert 'Placeholder model: these results are not estimates.' in page
        work_dirs = list(tmp_path.glob('smplestx-webui-*'))
        assert len(work_dirs) == 1 and (work_dirs[0] / 'gradio').is_dir()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    assert not list(tmp_path.glob('smplestx-webui-*'))
