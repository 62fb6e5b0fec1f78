"""Check HumanData ``.npz`` files for what SMPLest-X needs (keys, shapes, NaNs, images).

Example::

    python tools/dataset_converters/check_humandata.py data/annot/agora_train.npz \
        --img-dir data/img/agora
"""

import argparse
import sys
from typing import List, Optional

from smplestx.datasets.utils.humandata_check import check_humandata


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('files', nargs='+', help='HumanData .npz files')
    parser.add_argument('--img-dir', help='also check that every image exists under it')
    parser.add_argument('--allow-unsafe-pickle', action='store_true',
                        help='unpickle object members without the allow-list (trusted files)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Print a report per file; return 1 when any file has errors."""
    args = parse_args(argv)
    status = 0
    for path in args.files:
        report = check_humandata(path, args.img_dir, args.allow_unsafe_pickle)
        print(report.format())
        status |= int(not report.ok)
    return status


if __name__ == '__main__':
    sys.exit(main())
