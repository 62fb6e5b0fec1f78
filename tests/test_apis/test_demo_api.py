from pathlib import Path

import numpy as np
import pytest

from smplestx.apis import demo
from smplestx.utils.body_model_files import BODY_MODELS_ENV, BodyModelFilesError
from smplestx.visualization import project_points

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_assets(monkeypatch, body_model_path):
    """No released checkpoint, no SMPL-X env; the stand-in is the synthetic fixture."""
    monkeypatch.setattr(demo, 'DEFAULT_CHECKPOINTS', ('checkpoints/__absent__.pth', ))
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)
    made = []
    monkeypatch.setattr(demo, 'ensure_standin_body_model',
                        lambda path=None: made.append(path) or body_model_path)
    return made


def test_fallback_when_everything_is_missing(no_assets, body_model_path):
    setup = demo.resolve_demo_setup(standin_dir='/tmp/somewhere')
    assert no_assets == ['/tmp/somewhere']
    assert setup.placeholder and setup.standin and setup.checkpoint is None
    assert Path(setup.config).name == Path(demo.TINY_CONFIG).name
    assert setup.body_model_dir == str(body_model_path)
    assert setup.notice.count('\n') == 0
    assert 'no released checkpoint' in setup.notice and 'no SMPL-X files' in setup.notice
    assert 'placeholders' in setup.notice


def test_only_missing_pieces_are_replaced(no_assets, monkeypatch, body_model_path,
                                          official_tiny_path):
    monkeypatch.setenv(BODY_MODELS_ENV, str(body_model_path))
    setup = demo.resolve_demo_setup()
    assert not setup.standin and no_assets == []
    assert 'SMPL-X' not in setup.notice and 'no released checkpoint' in setup.notice
    ckpt = str(official_tiny_path / 'snapshot_0.pth.tar')
    setup = demo.resolve_demo_setup(demo.TINY_CONFIG, ckpt)
    assert setup.notice is None and not setup.placeholder and setup.checkpoint == ckpt


def test_explicit_files_must_exist(no_assets, tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint .* does not exist'):
        demo.resolve_demo_setup(checkpoint=str(tmp_path / 'x.pth'))
    with pytest.raises(FileNotFoundError, match='config file'):
        demo.resolve_demo_setup(config=str(tmp_path / 'x.py'))
    with pytest.raises(FileNotFoundError, match='body model folder'):
        demo.resolve_demo_setup(body_model_dir=str(tmp_path / 'none'))
    with pytest.raises(BodyModelFilesError, match='SMPLX_NEUTRAL.npz'):
        demo.resolve_demo_setup(body_model_dir=str(tmp_path))


def test_placeholder_weights_give_an_upright_person_in_its_box(no_assets):
    setup = demo.resolve_demo_setup()
    inferencer = demo.build_inferencer(setup, 'cpu', [[100, 50, 300, 450]])
    person = next(inferencer.stream(str(ROOT / 'demo' / 'astronaut.jpg'))).people[0]
    kp = person['keypoints_2d'][0]
    pelvis, l_ankle, neck = kp[0], kp[5], kp[7]
    assert neck[1] < pelvis[1] < l_ankle[1]
    x, y, w, h = person['crop_bbox']
    px = project_points(person['vertices'][0], person['focal'][0], person['princpt'][0])
    inside = ((px[:, 0] >= x) & (px[:, 0] <= x + w) & (px[:, 1] >= y) & (px[:, 1] <= y + h))
    assert inside.mean() > 0.95
    assert np.ptp(px[:, 1]) > 0.6 * h
