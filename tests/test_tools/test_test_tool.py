"""tools/test.py on one CPU process: official and converted checkpoints, table, JSON, switch."""

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from smplestx.evaluation.metrics import SMPLXMeshMetric
from smplestx.testing.damage import edited_humandata
from smplestx.testing.tools import load_tool
from smplestx.utils.cli import load_config

REPO = Path(__file__).resolve().parents[2]
TEST_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_test-synthetic-256x192.py'
NUM_SAMPLES = 3
CONVERTER = 'tools/model_converters/smplestx_official_to_smplestx.py'


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/test.py')


@pytest.fixture(scope='module')
def synthetic_root(synthetic_humandata_root):
    return synthetic_humandata_root(NUM_SAMPLES, img_size=(128, 128))


@pytest.fixture()
def body_models_env(body_model_path, monkeypatch):
    monkeypatch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))


def _run(tool, checkpoint, work_dir, synthetic_root, *extra):
    argv = [str(TEST_CONFIG), str(checkpoint), '--work-dir', str(work_dir),
            '--out', str(work_dir / 'preds.pkl'), *extra, '--cfg-options',
            f'test_dataloader.dataset.data_root={synthetic_root}']
    return tool.main(argv)


def _metric_on_dump(dump, **switches):
    """SMPLXMeshMetric run directly on the dumped predictions (one batch)."""
    metric = SMPLXMeshMetric(**switches)
    metric.process(None, dump)
    return metric.compute_metrics(metric.results)


def _assert_same(got, ref):
    assert got.keys() == ref.keys()
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9, nan_ok=True), key


def test_official_and_converted_checkpoints(tool, tmp_path, synthetic_root, official_tiny_path,
                                            body_models_env, capfd):
    official = official_tiny_path / 'snapshot_0.pth.tar'
    metrics = _run(tool, official, tmp_path / 'official', synthetic_root)
    out = capfd.readouterr().out
    for line in ('test progress: 1/2 batches (50%)', 'test progress: 2/2 batches (100%)',
                 'metric', 'mpvpe/all', 'pa-mpjpe/hands',
                 f'results saved to {tmp_path / "official" / "results.json"}'):
        assert line in out
    saved = json.loads((tmp_path / 'official' / 'results.json').read_text())
    assert all(v == v for v in metrics.values()), metrics  # no NaN: exact comparisons
    assert saved == metrics
    assert set(metrics) >= {'mpvpe/all', 'pa-mpvpe/all', 'mpvpe/hands', 'pa-mpvpe/face',
                            'mpjpe/body', 'pa-mpjpe/body'}

    # The reported numbers are those of the metric on exactly the evaluated predictions.
    with open(tmp_path / 'official' / 'preds.pkl', 'rb') as handle:
        dump = pickle.load(handle)
    assert [d['sample_idx'] for d in dump] == list(range(NUM_SAMPLES))
    _assert_same(metrics, _metric_on_dump(dump))

    converter = load_tool(CONVERTER)
    converted = tmp_path / 'converted.pth'
    converter.convert(str(official), str(converted))
    again = _run(tool, converted, tmp_path / 'converted', synthetic_root)
    assert again == metrics


def test_precision_option_tests_in_that_precision(tool, tmp_path, synthetic_root,
                                                 official_tiny_path, body_models_env, capfd):
    from mmengine.logging import MessageHub, MMLogger

    before = [len(m._instance_dict) for m in (MMLogger, MessageHub)]
    metrics = _run(tool, official_tiny_path / 'snapshot_0.pth.tar', tmp_path, synthetic_root,
                   '--precision', 'int8')
    # The run's named logger and message hub are released: a run started within the same
    # second (same experiment name) would otherwise reuse a logger whose stream is closed.
    assert [len(m._instance_dict) for m in (MMLogger, MessageHub)] == before
    assert 'testing in precision int8' in capfd.readouterr().out
    assert all(v == v for v in metrics.values()) and 'mpvpe/all' in metrics
    with pytest.raises(SystemExit):
        tool.parse_args([str(TEST_CONFIG), 'ckpt.pth', '--precision', 'fp64'])
    assert "invalid choice: 'fp64'" in capfd.readouterr().err


def test_official_eval_switch_reproduces_official_numbers(tool, tmp_path, synthetic_root,
                                                          official_tiny_path, body_models_env):
    metrics = _run(tool, official_tiny_path / 'snapshot_0.pth.tar', tmp_path, synthetic_root,
                   '--official-eval')
    with open(tmp_path / 'preds.pkl', 'rb') as handle:
        dump = pickle.load(handle)
    official = _metric_on_dump(dump, **SMPLXMeshMetric.OFFICIAL)
    fixed = _metric_on_dump(dump)
    _assert_same(metrics, official)
    # The official non-PA hand MPJPE compares wrist-relative joints with camera-frame ones.
    assert metrics['mpjpe/hands'] > 10 * fixed['mpjpe/hands']
    assert metrics['mpvpe/all'] == fixed['mpvpe/all']


def test_official_eval_switch_sets_every_smplx_metric_and_cfg_options_win(tool, monkeypatch):
    cfg = load_config(str(TEST_CONFIG))
    assert tool.use_official_metrics(cfg) == 1
    for key, value in SMPLXMeshMetric.OFFICIAL.items():
        assert cfg.test_evaluator[key] == value
    cfg.test_evaluator = [dict(type='SMPLXMeshMetric'), dict(type='DumpResults')]
    assert tool.use_official_metrics(cfg) == 1
    cfg.test_evaluator = dict(type='SMPLMeshMetric')
    assert tool.use_official_metrics(cfg) == 0
    assert 'official_pa_hand_outlier_mm' not in cfg.test_evaluator

    captured = {}

    def fake_build_runner(cfg):
        captured['cfg'] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(tool, 'build_runner', fake_build_runner)
    monkeypatch.setattr(tool, 'check_before_run', lambda cfg, out_files=(): None)
    with pytest.raises(SystemExit):
        tool.main([str(TEST_CONFIG), 'ckpt.pth', '--official-eval', '--cfg-options',
                   'test_evaluator.official_pa_hand_outlier_mm=50.0'])
    evaluator = captured['cfg'].test_evaluator
    assert evaluator.official_hand_mpjpe_gt_absolute is True
    assert evaluator.official_pa_hand_outlier_mm == 50.0
    assert captured['cfg'].load_from == 'ckpt.pth'


class _Logger:

    def __init__(self):
        self.lines = []

    def info(self, line):
        self.lines.append(line)


@pytest.mark.parametrize('num_batches,expected', [(3, [1, 2, 3]), (40, list(range(2, 41, 2))),
                                                  (50, [*range(3, 49, 3), 50])])
def test_progress_hook_logs_every_five_percent(tool, num_batches, expected):
    runner = SimpleNamespace(test_dataloader=range(num_batches), logger=_Logger())
    hook = tool.TestProgressHook()
    hook.before_test_epoch(runner)
    for i in range(num_batches):
        hook.after_test_iter(runner, i)
    logged = [int(line.split()[2].split('/')[0]) for line in runner.logger.lines]
    assert logged == expected
    assert runner.logger.lines[-1].startswith(f'test progress: {num_batches}/{num_batches} '
                                              f'batches (100%)')


def test_format_table_aligns_names(tool):
    table = tool.format_table({'mpvpe/all': 12.3456, 'agora/num_predictions': 3})
    lines = table.splitlines()
    assert lines[0].split() == ['metric', 'value']
    assert lines[2].split() == ['mpvpe/all', '12.35']
    assert lines[3].split() == ['agora/num_predictions', '3']
    assert len({line.index(line.split()[1]) for line in lines[2:]}) == 1


def test_missing_config_is_a_clear_error(tool, tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        tool.main([str(tmp_path / 'nope.py'), 'ckpt.pth'])



def test_bad_checkpoints_are_one_line_errors(tool, tmp_path, synthetic_root, body_models_env,
                                             official_tiny_path, capsys):
    from smplestx.models.utils.checkpoint_conversion import (
        CheckpointFormatError,
        CheckpointMismatchError,
    )
    from smplestx.utils.cli import run_tool

    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'\x00 not a checkpoint')
    with pytest.raises(CheckpointFormatError, match='junk.pth is not a torch checkpoint'):
        _run(tool, junk, tmp_path / 'junk', synthetic_root)
    # A wider model than the checkpoint's, official and converted.
    wider = ['model.backbone.embed_dim=64', 'model.head.feat_dim=64']
    converted = tmp_path / 'converted.pth'
    load_tool(CONVERTER).convert(str(official_tiny_path / 'snapshot_0.pth.tar'), str(converted))
    for checkpoint in (official_tiny_path / 'snapshot_0.pth.tar', converted):
        with pytest.raises(CheckpointMismatchError, match='embed_dim 32, depth 2 but the model '
                           'expects embed_dim 64, depth 2'):
            _run(tool, checkpoint, tmp_path / 'wider', synthetic_root, '--cfg-options', *wider)
    # As a script, both end with one line and exit status 2.
    with pytest.raises(SystemExit) as exit_info:
        run_tool(lambda: _run(tool, junk, tmp_path / 'junk', synthetic_root))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'error: {junk} is not a torch checkpoint: neither a torch zip archive nor a legacy '
        f'torch.save file')


def test_run_tool_keeps_tracebacks_of_bugs():
    from smplestx.utils.cli import run_tool

    def broken():
        raise RuntimeError('a bug')

    with pytest.raises(RuntimeError, match='a bug'):
        run_tool(broken)


def test_nan_smplx_parameters_are_left_out_of_evaluation(tool, tmp_path, synthetic_root,
                                                         official_tiny_path, body_models_env,
                                                         capfd):
    """A NaN ground-truth parameter: a warning naming the file and rows, no linalg crash."""
    root = tmp_path / 'nan'
    root.mkdir()
    (root / 'images').symlink_to(synthetic_root / 'images')
    annotation = root / 'synthetic_humandata.npz'
    edited_humandata(synthetic_root / 'synthetic_humandata.npz', annotation,
                     lambda content: content['smplx']['body_pose'].__setitem__((1, 3, 0), np.nan))
    metrics = _run(tool, official_tiny_path / 'snapshot_0.pth.tar', tmp_path / 'out', root)
    out = capfd.readouterr().out
    assert (f'{annotation}: 1 sample(s) with NaN smplx parameters left out of evaluation (their '
            f'ground-truth mesh is undefined; rows 1)') in out
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    with open(tmp_path / 'out' / 'preds.pkl', 'rb') as handle:
        assert [d['img_id'] for d in pickle.load(handle)] == [0, 2]


def _script(tool, argv, capfd):
    """tools/test.py as a script: (exit status, stdout, stderr lines)."""
    from smplestx.utils.cli import run_tool

    with pytest.raises(SystemExit) as info:
        run_tool(lambda: tool.main(argv))
    out, err = capfd.readouterr()
    return info.value.code, out, err.strip().splitlines()


def test_checkpoint_problems_are_reported_before_the_runner_starts(
        tool, tmp_path, synthetic_root, official_tiny_path, body_models_env, capfd):
    from smplestx.testing.damage import damaged_copy

    damaged = damaged_copy(official_tiny_path / 'snapshot_0.pth.tar', tmp_path / 'damaged.pth')
    wider = ['--cfg-options', 'model.backbone.embed_dim=64', 'model.head.feat_dim=64']
    for checkpoint, extra, message in (
            (damaged, [], f'error: {damaged} is damaged: member '),
            (official_tiny_path / 'snapshot_0.pth.tar', wider,
             f'error: {official_tiny_path / "snapshot_0.pth.tar"}: official SMPLest-X '
             f'checkpoint does not fit the model: it has embed_dim 32')):
        code, out, err = _script(tool, [str(TEST_CONFIG), str(checkpoint), '--work-dir',
                                        str(tmp_path / 'w'), *extra], capfd)
        assert code == 2 and len(err) == 1 and err[0].startswith(message), err
        assert 'mmengine' not in out and 'Config:' not in out  # before the config dump
    assert not (tmp_path / 'w').exists()


def test_a_bad_precision_config_key_is_one_line_error(tool, tmp_path, official_tiny_path,
                                                     body_models_env, capfd):
    code, out, err = _script(tool, [str(TEST_CONFIG), str(official_tiny_path /
                                                           'snapshot_0.pth.tar'),
                                    '--work-dir', str(tmp_path / 'w'),
                                    '--cfg-options', 'precision=fp64'], capfd)
    assert code == 2 and err == ["error: config key precision: precision must be one of "
                                 "fp32, bf16, fp16, int8, auto; got 'fp64'"], err
    assert 'Config:' not in out and not (tmp_path / 'w').exists()


@pytest.mark.parametrize('out_name,message', [
    ('file/preds.pkl', 'is a file, not a folder'),
    ('preds.txt', 'the predictions are dumped as a pickle; name the file *.pkl or *.pickle'),
])
def test_an_impossible_out_path_fails_before_the_evaluation(
        tool, tmp_path, synthetic_root, official_tiny_path, body_models_env, capfd, out_name,
        message):
    (tmp_path / 'file').write_text('a regular file')
    code, out, err = _script(tool, [str(TEST_CONFIG), str(official_tiny_path /
                                                           'snapshot_0.pth.tar'),
                                    '--work-dir', str(tmp_path / 'w'), '--out',
                                    str(tmp_path / out_name)], capfd)
    assert code == 2 and len(err) == 1 and err[0].endswith(message), err
    assert 'test progress' not in out


def test_an_smplx_model_with_nans_is_one_line_error(tool, tmp_path, synthetic_root,
                                                    official_tiny_path, body_model_path, capfd):
    import shutil

    models = tmp_path / 'models'
    shutil.copytree(body_model_path, models)
    neutral = models / 'smplx' / 'SMPLX_NEUTRAL.npz'
    with np.load(neutral) as data:
        arrays = {k: data[k] for k in data.files}
    arrays['v_template'][7, 1] = np.nan
    np.savez(neutral, **arrays)
    code, _, err = _script(tool, [
        str(TEST_CONFIG), str(official_tiny_path / 'snapshot_0.pth.tar'), '--work-dir',
        str(tmp_path / 'w'), '--cfg-options', f'test_dataloader.dataset.data_root={synthetic_root}',
        f'model.head.body_model.body_model_dir={models}',
        f'test_evaluator.body_model_dir={models}'], capfd)
    assert (code, err) == (2, [f"error: {neutral}: array 'v_template' of shape (10475, 3) has 1 "
                               f"NaN or infinite value(s)"])
