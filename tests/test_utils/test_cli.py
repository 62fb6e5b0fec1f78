import argparse

import pytest
from mmengine.config import Config

from smplestx.utils.cli import (
    add_video_camera_args,
    merge_test_args,
    merge_train_args,
    video_camera_args,
)


def _cfg():
    return Config(dict(optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-5)),
                       test_evaluator=dict(type='SMPLXMeshMetric'), load_from=None,
                       resume=False))


def _train_args(**kw):
    base = dict(config='configs/x/my_cfg.py', work_dir=None, launcher='none', amp=False,
                resume=None, cfg_options=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_train_defaults_work_dir_from_config_name():
    cfg = merge_train_args(_cfg(), _train_args())
    assert cfg.work_dir == 'work_dirs/my_cfg'
    assert cfg.resume is False


def test_train_resume_auto_and_path_and_amp():
    cfg = merge_train_args(_cfg(), _train_args(resume='auto', amp=True))
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.optim_wrapper.type == 'DeviceAmpOptimWrapper'
    cfg = merge_train_args(_cfg(), _train_args(resume='w/iter_4.pth'))
    assert cfg.resume is True and cfg.load_from == 'w/iter_4.pth'


def test_cfg_options_are_merged_last():
    cfg = merge_train_args(_cfg(), _train_args(
        work_dir='a', cfg_options={'work_dir': 'b', 'optim_wrapper.optimizer.lr': 0.1}))
    assert cfg.work_dir == 'b'
    assert cfg.optim_wrapper.optimizer.lr == 0.1


def test_test_args_set_checkpoint_and_dump():
    args = argparse.Namespace(config='c.py', checkpoint='ckpt.pth', work_dir='w', out='p.pkl',
                              launcher='none', cfg_options=None)
    cfg = merge_test_args(_cfg(), args)
    assert cfg.load_from == 'ckpt.pth'
    assert cfg.test_evaluator[-1] == dict(type='DumpResults', out_file_path='p.pkl')


def test_video_camera_args_take_fov_or_focal_not_both(capsys):
    parser = argparse.ArgumentParser()
    add_video_camera_args(parser, 'animation: ')
    assert video_camera_args(parser.parse_args([])) == {}
    assert video_camera_args(parser.parse_args(['--fov', '60'])) == {'fov': 60.0}
    assert video_camera_args(parser.parse_args(['--focal', '800'])) == {'focal': 800.0}
    with pytest.raises(SystemExit):
        parser.parse_args(['--fov', '60', '--focal', '800'])
    assert 'not allowed with argument' in capsys.readouterr().err
    assert 'animation: horizontal field of view' in parser.format_help()
