"""Write a stand-in of an official SMPLest-X checkpoint: real layout, random weights + Adam.

Like the released ``smplest_x_h.pth.tar`` (8.25 GB for 2.75 GB of weights), the file holds
``epoch``, ``network`` (``module.encoder.*``/``module.decoder.*``) and the Adam state of
every weight; the values are random. Use it to measure loading time and memory.

Examples::

    python tools/misc/make_standin_checkpoint.py /tmp/standin_h.pth.tar \
        --listing ../shared/reference/official_state_dict_vit_h_checkpoint.txt
    python tools/misc/make_standin_checkpoint.py /tmp/standin_s.pth.tar \
        --config configs/smplestx/smplestx_vit-s_16xb16-20e_h40-256x192.py
"""

import argparse
import sys
import time
from typing import List, Optional

from smplestx.testing.standin_checkpoint import (
    make_standin_checkpoint,
    shapes_from_config,
    shapes_from_listing,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='output file (.pth.tar)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--listing', help='official key listing, "name<TAB>[shape]" per line')
    source.add_argument('--config', help='smplestx config whose network to mirror')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random values')
    parser.add_argument('--no-adam', action='store_true',
                        help='leave out the Adam state (a weights-only official file)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Write the file; returns the exit status."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        shapes = shapes_from_listing(args.listing) if args.listing else \
            shapes_from_config(args.config)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    info = make_standin_checkpoint(args.out, shapes, seed=args.seed, adam=not args.no_adam)
    print(f'wrote {args.out}: {info["num_tensors"]} tensors, {info["num_params"]:,} random '
          f'parameters{"" if args.no_adam else " + Adam state"}, '
          f'{info["bytes"] / 1e9:.2f} GB, in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
