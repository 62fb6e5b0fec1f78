"""Locations of the shared test fixtures (synthetic body models, official outputs).

They live outside the repository in ``../shared/fixtures`` relative to the repo root, or
wherever ``SMPLESTX_SHARED`` points. Every function returns ``None`` when the folder is
absent so that tests can skip with a clear reason.
"""

import os
from pathlib import Path
from typing import Optional

SHARED_ENV = 'SMPLESTX_SHARED'
REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Optional[Path]:
    """The shared folder (``$SMPLESTX_SHARED`` or ``<repo>/../shared``), if present."""
    env = os.environ.get(SHARED_ENV)
    path = Path(env) if env else REPO_ROOT.parent / 'shared'
    return path if path.is_dir() else None


def _sub(*parts: str) -> Optional[Path]:
    root = shared_dir()
    if root is None:
        return None
    path = root.joinpath(*parts)
    return path if path.exists() else None


def body_models_dir() -> Optional[Path]:
    """The synthetic SMPL-X/SMPL body-model folder, if present."""
    return _sub('fixtures', 'body_models')


def official_tiny_dir() -> Optional[Path]:
    """The official-code reference case (tiny config), if present."""
    return _sub('fixtures', 'official_tiny')


def official_preproc_dir() -> Optional[Path]:
    """The official pre-processing outputs on two images (OpenCV 4.11), if present."""
    return _sub('fixtures', 'official_preproc')
