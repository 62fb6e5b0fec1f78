"""Write a licence-free stand-in SMPL-X body-model folder (NOT the real SMPL-X model).

Example::

    python tools/misc/make_standin_body_model.py work_dirs/standin_body_model
    SMPLESTX_BODY_MODELS=work_dirs/standin_body_model python tools/demo.py ...
"""

import argparse
import sys
import time

from smplestx.utils.standin_body_model import make_standin_body_model


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='folder to create (holds smplx/SMPLX_*.npz etc.)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random parts')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing stand-in folder (never a real SMPL-X one)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Generate the folder and print where it is."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        path = make_standin_body_model(args.out_dir, seed=args.seed, overwrite=args.overwrite)
    except FileExistsError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote a stand-in SMPL-X folder (not the real model) to {path} in '
          f'{time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
