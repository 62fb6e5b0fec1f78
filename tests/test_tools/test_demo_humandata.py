"""--save-humandata: the demo's results train as a HumanData set (pseudo-labels)."""

import json

import numpy as np
import pytest
from demo_utils import TINY, load_demo_tool
from mmengine.hooks import Hook

from smplestx.datasets import HumanDataset
from smplestx.structures.keypoint.smplx_conventions import SMPLX_137_FROM_144
from smplestx.utils.body_model_files import BODY_MODELS_ENV
from smplestx.utils.cli import build_runner, load_config


class _Losses(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))


def test_pseudo_labels_train_for_two_iterations(tmp_path, demo_media, demo_model_args,
                                                body_model_path, monkeypatch):
    out = tmp_path / 'out'
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)
    code = load_demo_tool().main([str(demo_media['short']), str(demo_media['photo']),
                                  '--whole-image', '--save-humandata', '--no-render',
                                  '--out-dir', str(out), *demo_model_args])
    assert code == 0
    ann = out / 'humandata.npz'
    # Video frames were saved for training; the image is used where it is.
    index = json.loads((out / 'short' / 'index.json').read_text())
    assert [f['image'] for f in index['frames']] == [f'frames/{i:06d}.jpg' for i in range(4)]
    monkeypatch.setenv(BODY_MODELS_ENV, str(body_model_path))
    dataset = HumanDataset(str(ann), data_root=str(out), camera_from_meta=True)
    assert len(dataset) == 5
    paths = [dataset.get_data_info(i)['img_path'] for i in range(5)]
    assert paths[:4] == [str(out / 'short' / 'frames' / f'{i:06d}.jpg') for i in range(4)]
    assert paths[4] == str(demo_media['photo'])
    # The 2D keypoints are the saved camera's view of the saved parameters.
    with np.load(ann) as data:
        kps2d = data['keypoints2d'][:, list(SMPLX_137_FROM_144), :2]
    with np.load(out / 'photo' / 'smplx' / 'photo_00.npz') as person:
        np.testing.assert_allclose(kps2d[4], person['keypoints_2d'], atol=0.05)

    config = tmp_path / 'pseudo_labels.py'
    config.write_text(
        f"_base_ = ['{TINY}']\n"
        f"train_dataloader = dict(batch_size=3, dataset=dict(data_root='{out}', "
        f"ann_file='humandata.npz', data_prefix=dict(img_path='')))\n"
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        'test_dataloader = None\ntest_cfg = None\ntest_evaluator = None\n'
        'custom_hooks = []\n')
    cfg = load_config(str(config))
    cfg.work_dir = str(tmp_path / 'work')
    runner = build_runner(cfg)
    losses = _Losses()
    runner.register_hook(losses)
    runner.train()
    assert runner.iter == 2 and len(losses.losses) == 2  # 5 people in batches of 3
    assert all(np.isfinite(losses.losses))


def test_sharded_runs_write_one_file_each(tmp_path, demo_media, demo_model_args, monkeypatch):
    monkeypatch.delenv(BODY_MODELS_ENV, raising=False)
    out = tmp_path / 'out'
    inputs = [str(demo_media['photo']), str(demo_media['shots'])]
    tool = load_demo_tool()
    for shard in ('0/2', '1/2'):
        assert tool.main(inputs + ['--whole-image', '--save-humandata', '--no-render',
                                   '--shard', shard, '--out-dir', str(out),
                                   *demo_model_args]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        'humandata_shard0of2.npz', 'humandata_shard1of2.npz', 'photo', 'shots']
    with np.load(out / 'humandata_shard0of2.npz') as data:
        assert data['image_path'].tolist() == [str(demo_media['photo'])]
    with np.load(out / 'humandata_shard1of2.npz') as data:
        assert len(data['image_path']) == 3
    with pytest.raises(SystemExit):
        tool.parse_args(inputs + ['--shard', '2/2'])
