"""Train (or fine-tune) a model: ``python tools/train.py CONFIG [options]``.

Runs on one CPU process as is; ``tools/dist_train.sh`` starts several with torchrun.
"""

import argparse

from smplestx.engine.runner import release_runner
from smplestx.utils.cli import (
    add_common_args,
    build_runner,
    check_before_run,
    load_config,
    merge_train_args,
    run_tool,
    shutdown_distributed,
)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description='Train a smplestx model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir when '
        'no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (bf16 on CPU, fp16 on GPU)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    cfg = load_config(args.config)
    cfg = merge_train_args(cfg, args)
    check_before_run(cfg)
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        release_runner(runner)
    shutdown_distributed()


if __name__ == '__main__':
    run_tool(main)
