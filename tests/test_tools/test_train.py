"""tools/train.py on one CPU process (no launcher): overfitting, AMP, the full tiny recipe."""

import math
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from torch.utils.data import Dataset

from smplestx.engine import DeviceAmpOptimWrapper, ResumableEpochBasedTrainLoop
from smplestx.registry import DATASETS
from smplestx.testing.tools import load_tool
from smplestx.utils.cli import build_runner, load_config, merge_train_args

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
TOOL = REPO / 'tools' / 'train.py'


@DATASETS.register_module(force=True)
class _InMemoryDataset(Dataset):
    """Runs the (deterministic) pipeline once per sample and keeps the results."""

    def __init__(self, dataset):
        self.dataset = DATASETS.build(dataset)
        self.metainfo = getattr(self.dataset, 'metainfo', {})
        self._items = {}

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        if idx not in self._items:
            self._items[idx] = self.dataset[idx]
        return self._items[idx]


class _LossRecorder(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))


@pytest.fixture(scope='module')
def synthetic_root(synthetic_humandata_root):
    return synthetic_humandata_root(4)


@pytest.fixture()
def body_models_env(body_model_path, monkeypatch):
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))


def _options(synthetic_root, **extra):
    options = {
        'train_dataloader.dataset.data_root': str(synthetic_root),
        'val_dataloader.dataset.data_root': str(synthetic_root),
        'test_dataloader.dataset.data_root': str(synthetic_root),
    }
    options.update(extra)
    return [f'{k}={v}' for k, v in options.items()]


def _runner(argv):
    tool = load_tool(TOOL)
    args = tool.parse_args(argv)
    cfg = merge_train_args(load_config(args.config), args)
    return cfg, build_runner(cfg)


def test_tiny_recipe_trains_and_validates_on_one_cpu_process_with_amp(
        tmp_path, synthetic_root, body_models_env):
    work_dir = tmp_path / 'amp'
    cfg, runner = _runner([str(TINY_CONFIG), '--work-dir', str(work_dir), '--amp',
                           '--cfg-options', *_options(synthetic_root)])
    assert cfg.launcher == 'none'
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert not runner.distributed
    assert isinstance(runner.train_loop, ResumableEpochBasedTrainLoop)
    assert isinstance(runner.optim_wrapper, DeviceAmpOptimWrapper)
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert runner.iter == 2 and len(recorder.losses) == 2
    assert all(math.isfinite(loss) for loss in recorder.losses), recorder.losses
    for name, param in runner.model.named_parameters():
        assert torch.isfinite(param).all(), name
    # The per-iteration cosine schedule of the official recipe (1e-5 -> 1e-6 over the run):
    # iteration k of K uses 1e-6 + (1e-5 - 1e-6) * (1 + cos(pi * k / K)) / 2.
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(1e-6 + (1e-5 - 1e-6) * (1 + math.cos(math.pi * 1 / 2)) / 2)
    ckpt = torch.load(work_dir / 'epoch_1.pth', weights_only=False)
    assert {'state_dict', 'optimizer', 'param_schedulers', 'meta'} <= set(ckpt)
    assert ckpt['meta']['iter'] == 2
    # Validation ran after the epoch and the visualization hook drew its batches.
    metrics = runner.message_hub.log_scalars
    assert any(key.startswith('val/mpvpe') for key in metrics), list(metrics)
    assert list(work_dir.glob('*/vis_data/vis_image/val_0_sample0_*.png'))


def test_overfitting_four_samples_halves_the_loss(tmp_path, synthetic_root, body_models_env):
    cfg = load_config(str(TINY_CONFIG))
    epochs = 30
    cfg.work_dir = str(tmp_path / 'overfit')
    dataset = cfg.train_dataloader.dataset.to_dict()
    dataset['data_root'] = str(synthetic_root)
    for transform in dataset['pipeline']:
        if transform['type'] == 'RandomSMPLXAugment':
            transform['test_mode'] = True  # a fixed target: same crops every epoch
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.dataset = dict(type='_InMemoryDataset', dataset=dataset)
    assert set(cfg.train_dataloader.dataset) == {'type', 'dataset'}
    # Smaller decoder to keep the test fast; the optimiser is the recipe's Adam at 1e-3.
    cfg.model.head.depth = 1
    cfg.optim_wrapper.optimizer.lr = 1e-3
    cfg.param_scheduler = []
    cfg.train_cfg.update(max_epochs=epochs, val_interval=epochs + 1)
    cfg.update(val_dataloader=None, val_cfg=None, val_evaluator=None, test_dataloader=None,
               test_cfg=None, test_evaluator=None, custom_hooks=[])
    cfg.default_hooks.checkpoint.interval = epochs
    runner = build_runner(cfg)
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    torch.manual_seed(0)
    runner.train()
    losses = recorder.losses
    assert len(losses) == epochs and all(math.isfinite(x) for x in losses)
    final = sum(losses[-3:]) / 3
    assert final <= 0.5 * losses[0], f'loss {losses[0]:.3f} -> {final:.3f}: {losses}'


def test_finetune_config_starts_from_the_released_checkpoint():
    cfg = load_config(str(REPO / 'configs' / 'smplestx' /
                          'smplestx_vit-h_16xb16-5e_h40-256x192_finetune.py'))
    assert cfg.load_from.endswith('smplest_x_h.pth.tar') and not cfg.resume
    assert cfg.model.backbone.init_cfg is None
    assert cfg.train_cfg.max_epochs == 5
    # No explicit length: the cosine follows train_cfg.max_epochs (also when overridden).
    assert not {'T_max', 'end'} & set(cfg.param_scheduler[0])
    assert cfg.param_scheduler[0].eta_min == 5e-7
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-5, betas=(0.9, 0.999),
                                               eps=1e-8, weight_decay=0.0)


def test_load_from_an_official_checkpoint_fine_tunes_from_its_weights(
        tmp_path, synthetic_root, body_models_env, official_tiny_path):
    """The fine-tuning mechanism on the tiny case: load_from = an official snapshot."""
    from smplestx.models.utils.checkpoint_conversion import load_official_checkpoint

    snapshot = official_tiny_path / 'snapshot_0.pth.tar'
    cfg, runner = _runner([
        str(TINY_CONFIG), '--work-dir', str(tmp_path / 'finetune'), '--cfg-options',
        *_options(synthetic_root, load_from=snapshot, **{
            'optim_wrapper.optimizer.lr': 0.0, 'train_cfg.val_interval': 100,
            'train_dataloader.batch_size': 4, 'custom_hooks': '[]'})])
    runner.train()
    assert runner.iter == 1
    official = load_official_checkpoint(snapshot)
    state = runner.model.state_dict()
    assert set(official) <= set(state)
    for key, value in official.items():  # lr 0: the weights are still the official ones
        torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)


class _LRRecorder(Hook):

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def _cosine(k, total, lr=1e-5, eta_min=1e-6):
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * k / total)) / 2


def test_max_epochs_override_stretches_the_lr_schedule(tmp_path, synthetic_root,
                                                       body_models_env, capsys):
    """`--cfg-options train_cfg.max_epochs=2` (the docs' example): the cosine spans both."""
    quick = {'train_cfg.val_interval': 100, 'custom_hooks': '[]',
             'default_hooks.checkpoint.interval': 100}
    cfg, runner = _runner([str(TINY_CONFIG), '--work-dir', str(tmp_path / 'stretch'),
                           '--cfg-options', *_options(synthetic_root, **quick,
                                                      **{'train_cfg.max_epochs': 2})])
    recorder = _LRRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert runner.iter == 4
    assert recorder.lrs == pytest.approx([_cosine(k, 4) for k in range(4)], rel=1e-9)
    out = capsys.readouterr().out  # nothing to warn about
    assert 'cut short' not in out and 'stays at its final value' not in out

    # An explicit end that disagrees with the training length is kept, with a warning.
    cfg, runner = _runner([str(TINY_CONFIG), '--work-dir', str(tmp_path / 'explicit'),
                           '--cfg-options', *_options(synthetic_root, **quick, **{
                               'train_cfg.max_epochs': 2, 'param_scheduler.0.end': 1})])
    recorder = _LRRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.lrs == pytest.approx([_cosine(0, 2)] + [_cosine(1, 2)] * 3, rel=1e-9)
    assert ('every param_scheduler ends by iteration 2 of 4: the parameter stays at its final '
            'value') in capsys.readouterr().out


def test_schedule_length_warnings_name_cut_and_short_schedules():
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

    from smplestx.engine.runner import schedule_length_warnings

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    warmup = LinearLR(optimizer, begin=0, end=1, by_epoch=True)
    assert schedule_length_warnings([warmup, CosineAnnealingLR(optimizer, begin=1, end=3)],
                                    3, 30) == []
    assert schedule_length_warnings([warmup, CosineAnnealingLR(optimizer)], 3, 30) == []
    long = schedule_length_warnings([CosineAnnealingLR(optimizer, end=20)], 3, 30)
    assert long == ['param_scheduler[0] (CosineAnnealingLR) ends at epoch 20 but training '
                    'stops at 3: its schedule is cut short (omit its end/T_max to follow '
                    'train_cfg)']
    short = schedule_length_warnings([warmup, CosineAnnealingLR(optimizer, end=2)], 3, 30)
    assert len(short) == 1 and short[0].startswith('every param_scheduler ends by epoch 2 of 3')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_amp_on_gpu_has_no_nans(tmp_path, synthetic_root, body_models_env, dtype):
    cfg, runner = _runner([
        str(TINY_CONFIG), '--work-dir', str(tmp_path / dtype), '--amp', '--cfg-options',
        *_options(synthetic_root, **{'optim_wrapper.dtype': dtype, 'train_cfg.max_epochs': 2,
                                     'param_scheduler.0.T_max': 2, 'param_scheduler.0.end': 2,
                                     'train_cfg.val_interval': 100})])
    recorder = _LossRecorder()
    runner.register_hook(recorder)
    runner.train()
    assert runner.optim_wrapper.cast_dtype == getattr(torch, dtype)
    assert len(recorder.losses) == 4 and all(math.isfinite(x) for x in recorder.losses)
    for name, param in runner.model.named_parameters():
        assert torch.isfinite(param).all(), name


def _script(argv, capsys):
    """tools/train.py as a script: (exit status, stderr lines)."""
    from smplestx.utils.cli import run_tool

    tool = load_tool(TOOL)
    with pytest.raises(SystemExit) as info:
        run_tool(lambda: tool.main(argv))
    return info.value.code, capsys.readouterr().err.strip().splitlines()


def test_a_misspelt_hook_argument_fails_before_training(tmp_path, synthetic_root,
                                                       body_models_env, capsys):
    work_dir = tmp_path / 'typo'
    code, err = _script([str(TINY_CONFIG), '--work-dir', str(work_dir), '--cfg-options',
                         *_options(synthetic_root, **{
                             'default_hooks.checkpoint.intervall': 5})], capsys)
    assert (code, err) == (2, [f"error: {TINY_CONFIG}: config key default_hooks.checkpoint."
                               f"intervall: CheckpointHook does not accept 'intervall' (did you "
                               f"mean 'interval'?)"])
    assert not work_dir.exists()  # nothing was built, let alone trained


@pytest.mark.parametrize('option,message', [
    ('trian_cfg.max_epochs=2', "--cfg-options trian_cfg.max_epochs: the config has no "
     "'trian_cfg' (did you mean 'train_cfg'?)"),
    ('train_cfg.max_epoch=2', 'config key train_cfg.max_epoch: ResumableEpochBasedTrainLoop '
     "does not accept 'max_epoch' (did you mean 'max_epochs'?)"),
    ('model.head.feat_dimm=8', "config key model.head.feat_dimm: SMPLXTransformerHead does not "
     "accept 'feat_dimm' (did you mean 'feat_dim'?)"),
])
def test_unknown_config_keys_are_one_line_errors(tmp_path, option, message, capsys):
    code, err = _script([str(TINY_CONFIG), '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', option], capsys)
    assert code == 2 and len(err) == 1 and err[0].endswith(message), err


def test_unreadable_configs_are_one_line_errors(tmp_path, capsys):
    broken = tmp_path / 'broken.py'
    broken.write_text("_base_ = []\nmodel = dict(type='SMPLestX'\n")
    code, err = _script([str(broken)], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f'error: config {broken} has a syntax error at line 2: ')
    undefined = tmp_path / 'undefined.py'
    undefined.write_text('max_epochs = epochs\n')
    assert _script([str(undefined)], capsys) == (
        2, [f"error: config {undefined} cannot be read: NameError: name 'epochs' is not "
            f"defined"])


def test_a_full_disk_while_saving_is_one_line_and_leaves_no_partial_checkpoint(
        tmp_path, synthetic_root, body_models_env, capsys, monkeypatch):
    import errno
    import os

    from mmengine.fileio.backends.local_backend import LocalBackend

    def disk_full(self, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filepath)

    monkeypatch.setattr(LocalBackend, 'put', disk_full)
    work_dir = tmp_path / 'full'
    code, err = _script([str(TINY_CONFIG), '--work-dir', str(work_dir), '--cfg-options',
                         *_options(synthetic_root, **{'train_cfg.val_interval': 100,
                                                      'custom_hooks': '[]'})], capsys)
    assert (code, err) == (2, [f'error: could not save checkpoint {work_dir / "epoch_1.pth"}: '
                               f'No space left on device; nothing was written there and the '
                               f'earlier checkpoints are intact'])
    assert not list(work_dir.glob('*.pth')) and not list(work_dir.glob('.*'))
    assert not (work_dir / 'last_checkpoint').exists()


def test_malformed_humandata_is_one_line_error(tmp_path, synthetic_root, body_models_env,
                                               capsys):
    from smplestx.testing.damage import edited_humandata

    root = tmp_path / 'bad'
    root.mkdir()
    annotation = edited_humandata(synthetic_root / 'synthetic_humandata.npz',
                                  root / 'synthetic_humandata.npz',
                                  lambda content: content.pop('bbox_xywh'))
    code, err = _script([str(TINY_CONFIG), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                         *_options(root)], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"error: HumanData file {annotation} is missing required key "
                             f"'bbox_xywh'")
