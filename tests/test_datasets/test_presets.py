"""Every HumanData preset in configs/_base_/datasets builds a dataset with valid options."""

from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from smplestx.datasets import HumanDataset
from smplestx.registry import DATASETS

PRESET_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'
REQUIRED = ('agora', 'bedlam', 'ehf', 'ubody', 'egobody', 'arctic', 'pw3d', 'synhand',
            'renbody', 'talkshow', 'mscoco', 'mpi_inf_3dhp')


def _presets():
    for path in sorted(PRESET_DIR.glob('*.py')):
        cfg = Config.fromfile(str(path))
        for name, value in cfg.to_dict().items():
            if isinstance(value, dict) and value.get('type') == 'HumanDataset':
                yield pytest.param(value, id=f'{path.stem}.{name}')


def test_required_presets_exist():
    stems = {p.stem for p in PRESET_DIR.glob('*.py')}
    assert set(REQUIRED) <= stems


@pytest.mark.parametrize('preset', list(_presets()))
def test_preset_builds(preset, humandata_factory):
    rng = np.random.default_rng(0)
    smpl = dict(global_orient=rng.normal(size=(6, 3)).astype(np.float32),
                body_pose=rng.normal(size=(6, 69)).astype(np.float32),
                betas=rng.normal(size=(6, 10)).astype(np.float32))
    meta = dict(focal_length=np.full((6, 2), 500.0), principal_point=np.full((6, 2), 100.0),
                gender=np.array(['male'] * 6))
    paths = np.array([f'/seq/{i}.jpg' for i in range(6)])
    path, _ = humandata_factory(smpl=smpl, meta_extra=meta, image_path=paths)
    cfg = dict(preset, ann_file=path, data_root='', pipeline=[])
    dataset = DATASETS.build(cfg)
    assert isinstance(dataset, HumanDataset)
    interval = preset.get('sample_interval', 1)
    assert len(dataset) == len(range(0, 6, interval))
    info = dataset.get_data_info(0)
    assert info['dataset_name'] == preset['dataset_name']
    assert info['body_model_type'] == preset.get('body_model_type', 'smplx')
