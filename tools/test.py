"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

CHECKPOINT may be the official ``.pth.tar`` or a converted MMEngine checkpoint. Progress
is logged about every 5 % of the test batches; the metrics are printed as a table and
saved to ``<work_dir>/results.json``. ``--official-eval`` reproduces the numbers of the
official evaluation, bugs included (``SMPLXMeshMetric.OFFICIAL``). Several processes:
``bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [options]``.
"""

import argparse
import math
import os.path as osp
import time
from typing import Any, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from smplestx.engine.runner import release_runner
from smplestx.models.utils.precision import PRECISIONS
from smplestx.utils.cli import (
    UsageError,
    add_common_args,
    build_runner,
    check_before_run,
    load_config,
    merge_test_args,
    run_tool,
    shutdown_distributed,
)
from smplestx.utils.io import atomic_write_json


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Test (evaluate) a smplestx model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint (official .pth.tar or converted)')
    parser.add_argument('--out', help='also dump the raw predictions to this pickle file')
    parser.add_argument(
        '--official-eval', action='store_true',
        help='reproduce the official evaluation, bugs included: turn on the official_* '
             'switches of every SMPLXMeshMetric (--cfg-options still win)')
    parser.add_argument(
        '--precision', choices=PRECISIONS, default=None,
        help='inference precision (sets the config key `precision`; default fp32): bf16, '
             'fp16, int8 or auto (the fastest this CPU/GPU supports), see docs/benchmarks.md')
    add_common_args(parser)
    return parser.parse_args(argv)


class TestProgressHook(Hook):
    """Log ``done/total`` test batches with elapsed time and ETA every ``percent`` %.

    Args:
        percent: Logging step as a share of the test batches (at least every batch).
    """

    priority = 'LOW'

    def __init__(self, percent: float = 5.0) -> None:
        self.percent = percent
        self._total = 0
        self._every = 1
        self._start = 0.0

    def before_test_epoch(self, runner: Any) -> None:
        """Count the batches and start the clock."""
        self._total = len(runner.test_dataloader)
        self._every = max(1, math.ceil(self._total * self.percent / 100))
        self._start = time.perf_counter()

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                        outputs: Optional[Any] = None) -> None:
        """Log the progress of this process (rank 0 prints)."""
        done = batch_idx + 1
        if done % self._every and done != self._total:
            return
        elapsed = time.perf_counter() - self._start
        eta = elapsed / done * (self._total - done)
        share = 100.0 * done / max(self._total, 1)
        runner.logger.info(f'test progress: {done}/{self._total} batches ({share:.0f}%), '
                           f'elapsed {elapsed:.1f} s, eta {eta:.1f} s')


def use_official_metrics(cfg: Config) -> int:
    """Turn on ``SMPLXMeshMetric.OFFICIAL`` in every SMPL-X metric of ``test_evaluator``.

    Args:
        cfg: The config (changed in place).

    Returns:
        How many metrics were switched (0: nothing differs from the official evaluation).
    """
    from smplestx.evaluation.metrics import SMPLXMeshMetric

    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        metrics = evaluator
    elif 'metrics' in evaluator:
        metrics = evaluator.metrics
        metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
    else:
        metrics = [evaluator]
    switched = 0
    for metric in metrics:
        kind = metric.get('type')
        if kind is SMPLXMeshMetric or str(kind).split('.')[-1] == 'SMPLXMeshMetric':
            metric.update(SMPLXMeshMetric.OFFICIAL)
            switched += 1
    return switched


def format_table(metrics: dict) -> str:
    """Format ``{name: value}`` as a two-column text table."""
    width = max([len('metric'), *(len(k) for k in metrics)])
    lines = [f'{"metric":<{width}}  value', f'{"-" * width}  ---------']
    for key, value in metrics.items():
        text = f'{value:.2f}' if isinstance(value, float) else str(value)
        lines.append(f'{key:<{width}}  {text}')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    """Entry point; returns the metrics."""
    args = parse_args(argv)
    cfg = load_config(args.config)
    if args.official_eval and use_official_metrics(cfg) == 0:
        print('--official-eval: no SMPLXMeshMetric in test_evaluator; this evaluation has '
              'no official-compatibility switch')
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        raise UsageError(f'--out {args.out}: the predictions are dumped as a pickle; name '
                         f'the file *.pkl or *.pickle')
    cfg = merge_test_args(cfg, args)
    # The checkpoint, the config keys and the outputs, before the Runner logs the config.
    check_before_run(cfg, out_files=[args.out] if args.out else [])
    runner = build_runner(cfg)
    runner.register_hook(TestProgressHook())
    try:
        metrics = runner.test()
        if is_main_process():
            print(format_table(metrics))
            path = osp.join(cfg.work_dir, 'results.json')
            atomic_write_json(path, {k: float(v) if hasattr(v, '__float__') else v
                                     for k, v in metrics.items()})
            print(f'results saved to {path}')
    finally:
        release_runner(runner)
    shutdown_distributed()
    return metrics


if __name__ == '__main__':
    run_tool(main)
