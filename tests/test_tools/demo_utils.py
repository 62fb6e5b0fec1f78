"""Helpers of the demo tests (the fixtures are in conftest.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from smplestx.testing.tools import free_port, load_tool
from smplestx.utils.body_model_files import BODY_MODELS_ENV

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
#: Keys of ``index.json`` that differ between runs (timing).
TIMING_KEYS = ('seconds', 'created')


def load_demo_tool():
    """``tools/demo.py`` as a module."""
    return load_tool('tools/demo.py')


def subprocess_env(body_model_path: Path) -> Dict[str, str]:
    """The environment of demo subprocesses: CPU only, one thread each, no SMPL-X env."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               PYTHON=sys.executable, PORT=str(free_port()))
    env.pop(BODY_MODELS_ENV, None)
    return env


def tree(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` (relative path -> content), timing keys dropped from indexes."""
    files = {}
    for path in sorted(root.rglob('*')):
        if path.is_file():
            data = path.read_bytes()
            if path.name == 'index.json':
                index = json.loads(data)
                for key in TIMING_KEYS:
                    index.pop(key, None)
                data = json.dumps(index, sort_keys=True).encode()
            files[path.relative_to(root).as_posix()] = data
    return files


def assert_same_outputs(got: Path, expected: Path) -> None:
    """Same files, byte for byte (indexes up to their timing keys)."""
    a, b = tree(got), tree(expected)
    assert sorted(a) == sorted(b), set(a) ^ set(b)
    different = [name for name in a if a[name] != b[name]]
    assert not different, different


def mixed_inputs(media: Dict[str, Path]) -> List[str]:
    """The mixed input list, videos first (so a one-process run writes a video first)."""
    return [str(media[k]) for k in ('long', 'shots', 'short', 'photo')]


#: Options of every run over the mixed set: small batches, folders in parts of two images.
MIXED_OPTIONS = ['--whole-image', '--batch-size', '2', '--images-per-part', '2']


def run_subprocess(cmd: List[str], env: Dict[str, str], timeout: float = 300
                   ) -> subprocess.CompletedProcess:
    """Run a command from the repository root; its output comes back as text."""
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
