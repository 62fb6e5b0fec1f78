"""Shared inputs of the demo tests: a small mixed input set and one uninterrupted run."""

from pathlib import Path
from typing import Dict, List

import cv2
import pytest
from demo_utils import MIXED_OPTIONS, TINY, load_demo_tool, mixed_inputs

from smplestx.testing.media import IMAGE, write_video
from smplestx.utils.body_model_files import BODY_MODELS_ENV


@pytest.fixture(scope='session')
def demo_media(tmp_path_factory) -> Dict[str, Path]:
    """Two videos of different lengths, a folder of three images and a single image."""
    root = tmp_path_factory.mktemp('demo_media')
    write_video(root / 'long.mp4', 7, size=(96, 72))
    write_video(root / 'short.mp4', 4, size=(80, 64))
    image = cv2.imread(str(IMAGE))
    shots = root / 'shots'
    shots.mkdir()
    for i, size in enumerate(((64, 48), (48, 64), (56, 56))):
        cv2.imwrite(str(shots / f'shot{i}.jpg'), cv2.resize(image, size))
    cv2.imwrite(str(root / 'photo.jpg'), cv2.resize(image, (96, 96)))
    return dict(root=root, long=root / 'long.mp4', short=root / 'short.mp4', shots=shots,
                photo=root / 'photo.jpg')


@pytest.fixture(scope='session')
def demo_model_args(body_model_path, official_tiny_path) -> List[str]:
    """The tiny config with the official tiny weights and the synthetic body model."""
    return ['--config', str(TINY), '--checkpoint', str(official_tiny_path / 'snapshot_0.pth.tar'),
            '--body-model-dir', str(body_model_path), '--device', 'cpu', '--no-progress']


@pytest.fixture(scope='session')
def mixed_reference(tmp_path_factory, demo_media, demo_model_args) -> Path:
    """One uninterrupted one-process run over the mixed set."""
    out = tmp_path_factory.mktemp('mixed_reference') / 'out'
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(BODY_MODELS_ENV, raising=False)
        code = load_demo_tool().main(mixed_inputs(demo_media) + MIXED_OPTIONS + demo_model_args
                                     + ['--out-dir', str(out)])
    assert code == 0
    return out
