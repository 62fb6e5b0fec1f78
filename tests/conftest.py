"""Shared pytest fixtures: locations of the synthetic body model and official outputs."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from smplestx.testing.fixtures import body_models_dir, official_preproc_dir, official_tiny_dir

#: Intra-op threads of the test process: 1 by default (reproducible numerics, and the
#: second core stays free for the subprocesses some tests start). ``SMPLESTX_TEST_THREADS=2``
#: runs the suite with other kernel partitions, to check that tolerances do not depend on it.
TEST_THREADS = int(os.environ.get('SMPLESTX_TEST_THREADS', '1'))


@pytest.fixture(scope='session', autouse=True)
def _deterministic_threads():
    """Fix the intra-op thread count (:data:`TEST_THREADS`)."""
    torch.set_num_threads(TEST_THREADS)


@pytest.fixture(scope='session')
def body_model_path() -> Path:
    """The synthetic SMPL-X body-model folder (``../shared/fixtures/body_models``)."""
    path = body_models_dir()
    if path is None:
        pytest.skip('synthetic body models not found: expected ../shared/fixtures/'
                    'body_models next to the repo or $SMPLESTX_SHARED')
    return path


@pytest.fixture(scope='session')
def official_tiny_path() -> Path:
    """The official reference case (``../shared/fixtures/official_tiny``)."""
    path = official_tiny_dir()
    if path is None:
        pytest.skip('official reference case not found: expected ../shared/fixtures/'
                    'official_tiny next to the repo or $SMPLESTX_SHARED')
    return path


@pytest.fixture(scope='session')
def official_io(official_tiny_path) -> dict:
    """All arrays of ``official_tiny/io.npz`` as a dict."""
    with np.load(official_tiny_path / 'io.npz') as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope='session')
def official_preproc_path() -> Path:
    """The official pre-processing case (``../shared/fixtures/official_preproc``)."""
    path = official_preproc_dir()
    if path is None:
        pytest.skip('official pre-processing case not found: expected ../shared/fixtures/'
                    'official_preproc next to the repo or $SMPLESTX_SHARED')
    return path


@pytest.fixture(scope='session')
def synthetic_humandata_root(tmp_path_factory, body_model_path):
    """Factory: ``make(num, img_size)`` -> a synthetic HumanData folder (seed 0).

    Each ``(num, img_size)`` is generated once per session and shared by the training and
    test-tool tests.
    """
    from smplestx.datasets.synthetic import make_synthetic_humandata

    made = {}

    def make(num: int, img_size: tuple = (256, 256)) -> Path:
        key = (num, tuple(img_size))
        if key not in made:
            root = tmp_path_factory.mktemp(f'synthetic{num}')
            make_synthetic_humandata(str(body_model_path), str(root), num=num,
                                     img_size=tuple(img_size), seed=0)
            made[key] = root
        return made[key]

    return make
