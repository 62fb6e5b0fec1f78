"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

CHECKPOINT may be the official ``.pth.tar`` or a converted MMEngine checkpoint. The
metrics are printed as a table and saved to ``<work_dir>/results.json``.
"""

import argparse
import os.path as osp

from mmengine.dist import is_main_process

from smplestx.utils.cli import add_common_args, build_runner, load_config, merge_test_args
from smplestx.utils.io import atomic_write_json


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Test (evaluate) a smplestx model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint (official .pth.tar or converted)')
    parser.add_argument('--out', help='also dump the raw predictions to this pickle file')
    add_common_args(parser)
    return parser.parse_args(argv)


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
    cfg = merge_test_args(cfg, args)
    runner = build_runner(cfg)
    metrics = runner.test()
    if is_main_process():
        print(format_table(metrics))
        path = osp.join(cfg.work_dir, 'results.json')
        atomic_write_json(path, {k: float(v) if hasattr(v, '__float__') else v
                                 for k, v in metrics.items()})
        print(f'results saved to {path}')
    return metrics


if __name__ == '__main__':
    main()
