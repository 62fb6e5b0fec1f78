"""ruff is part of the test suite, so style regressions fail CI like any other test."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    # the venv's ruff sits next to its python even when the venv is not activated
    beside = Path(sys.executable).with_name('ruff')
    ruff = str(beside) if beside.is_file() else shutil.which('ruff')
    if ruff is None:
        pytest.skip('ruff not installed (pip install -r requirements/tests.txt)')
    result = subprocess.run([ruff, 'check', '--no-cache', str(REPO)], capture_output=True,
                            text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_imports_without_optional_dependencies():
    code = ('import sys, smplestx, smplestx.registry as r; '
            '[reg.import_from_location() for reg in (r.MODELS, r.TRANSFORMS, r.METRICS)]; '
            'bad = [m for m in ("mmdet", "pyrender", "onnx", "onnxruntime") if m in sys.modules]; '
            'assert not bad, bad')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO)
