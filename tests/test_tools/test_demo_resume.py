"""The demo resumes: killed at three moments and run again, it ends as an uninterrupted run.

Each kill is a SIGKILL of a running ``tools/demo.py`` as soon as the output folder shows
the moment (polled every 20 ms), so no cleanup code of the demo runs. After the last run,
every file equals the uninterrupted run's (``index.json`` up to its timing fields) and no
hidden temporary file or part marker is left. Also: the leftovers of issue 17 #10.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from demo_utils import (
    MIXED_OPTIONS,
    REPO,
    assert_same_outputs,
    load_demo_tool,
    mixed_inputs,
    subprocess_env,
)

from smplestx.utils.body_model_files import BODY_MODELS_ENV

pytestmark = pytest.mark.skipif(sys.platform != 'linux', reason='POSIX signals')


def _run_until(args, env, moment: Callable[[], bool], timeout: float = 240) -> None:
    """Start the demo and SIGKILL it as soon as ``moment()`` holds."""
    proc = subprocess.Popen([sys.executable, 'tools/demo.py', *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not moment():
            assert proc.poll() is None, f'the demo ended before the moment: {proc.stderr.read()}'
            assert time.monotonic() < deadline, 'the moment never came'
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _hidden_or_parts(root: Path):
    return [p for p in root.rglob('*') if p.name.startswith('.')]


def _count(folder: Path, pattern: str) -> int:
    return len(list(folder.glob(pattern))) if folder.is_dir() else 0


def test_killed_three_times_then_rerun_equals_an_uninterrupted_run(
        tmp_path, demo_media, demo_model_args, mixed_reference, body_model_path, capsys):
    out = tmp_path / 'out'
    args = mixed_inputs(demo_media) + MIXED_OPTIONS + demo_model_args + ['--out-dir', str(out)]
    env = subprocess_env(body_model_path)
    # 1. In the middle of the first video (its overlay video is being written).
    _run_until(args, env, lambda: _count(out / 'long' / 'smplx', '*.npz') >= 3)
    assert not (out / 'long' / 'index.json').exists()
    assert list((out / 'long').glob('.long.mp4.*.mp4')), 'no half-written video to resume'
    # 2. Half-way through the folder (one of its two parts done, the folder not merged).
    _run_until(args, env, lambda: (out / 'shots' / '.parts' / 'part_000000.json').exists())
    assert (out / 'long' / 'index.json').exists() and not (out / 'shots' / 'index.json').exists()
    # 3. In the middle of the second video.
    _run_until(args, env, lambda: _count(out / 'short' / 'smplx', '*.npz') >= 1)
    assert not (out / 'short' / 'index.json').exists()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        assert load_demo_tool().main(args) == 0
    log = capsys.readouterr().out
    assert f'{demo_media["long"]}: complete already' in log  # not redone
    assert_same_outputs(out, mixed_reference)
    assert not _hidden_or_parts(out)
    # A complete output is not redone (no model is even loaded), --overwrite redoes it.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        from smplestx.apis import demo_runner
        patch.setattr(demo_runner, 'build_model', None)  # would fail if called
        assert load_demo_tool().main(args) == 0
    assert capsys.readouterr().out.count('complete already') == 4
    stamp = json.loads((out / 'photo' / 'index.json').read_text())['created']
    time.sleep(1.1)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        assert load_demo_tool().main(args + ['--overwrite']) == 0
    assert json.loads((out / 'photo' / 'index.json').read_text())['created'] != stamp
    assert_same_outputs(out, mixed_reference)


def test_leftovers_of_earlier_runs_are_removed(tmp_path, demo_media, demo_model_args):
    """Issue 17 #10: a rerun kept the files of images that are gone, and a killed video's
    hidden temporary file; a failed run left an empty folder."""
    shots = tmp_path / 'shots'
    shutil.copytree(demo_media['shots'], shots)
    video = tmp_path / 'clip.mp4'
    shutil.copy(demo_media['short'], video)
    out = tmp_path / 'out'
    tool = load_demo_tool()
    args = [str(shots), str(video), '--whole-image', '--out-dir', str(out), *demo_model_args]
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        assert tool.main(args) == 0
        stale = out / 'clip' / '.clip.mp4.k1ll3d.mp4'  # what a kill during encoding leaves
        stale.write_bytes(b'half a video')
        (out / 'clip' / 'index.json').unlink()  # ... before the index was written
        os.remove(shots / 'shot1.jpg')
        assert tool.main(args) == 0
        index = json.loads((out / 'shots' / 'index.json').read_text())
        assert [f['name'] for f in index['frames']] == ['shot0', 'shot2']
        assert sorted(p.name for p in (out / 'shots' / 'smplx').iterdir()) == [
            'shot0_00.npz', 'shot2_00.npz']
        assert sorted(p.name for p in (out / 'shots' / 'vis').iterdir()) == [
            'shot0.jpg', 'shot2.jpg']
        assert not stale.exists() and not _hidden_or_parts(out)
        empty = tmp_path / 'empty.mp4'
        empty.write_bytes(video.read_bytes()[:40])  # the header only: no frame to read
        code = tool.main([str(empty), '--whole-image', '--out-dir', str(out),
                          *demo_model_args])
        assert code in (1, 2) and not (out / 'empty').exists()
