"""Render a small synthetic HumanData set from a SMPL-X body model (for tests, CI, demos).

Example::

    python tools/dataset_converters/make_synthetic_humandata.py \
        --body-model-dir ../shared/fixtures/body_models --out-dir data/synthetic --num 8
"""

import argparse
from typing import List, Optional

from smplestx.datasets.synthetic import make_synthetic_humandata
from smplestx.utils.cli import UsageError, run_tool
from smplestx.utils.io import check_writable


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--body-model-dir', default=None,
                        help='SMPL-X folder (default: $SMPLESTX_BODY_MODELS)')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--num', type=int, default=8, help='number of images')
    parser.add_argument('--size', type=int, nargs=2, default=(256, 256), metavar=('H', 'W'),
                        help='image size')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--name', default='synthetic_humandata', help='annotation file stem')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Write the images and the annotation; print the annotation path."""
    args = parse_args(argv)
    if args.num < 1:
        raise UsageError(f'--num must be at least 1 (got {args.num}): nothing to write')
    if min(args.size) < 16:
        raise UsageError(f'--size {args.size[0]} {args.size[1]}: images need at least 16 '
                         f'pixels per side')
    check_writable(args.out_dir, folder=True)
    path = make_synthetic_humandata(args.body_model_dir, args.out_dir, args.num,
                                    tuple(args.size), args.seed, args.name)
    print(path)
    return 0


if __name__ == '__main__':
    run_tool(main)
