"""Validate model-index.yml and its metafiles: ``python tools/misc/check_metafiles.py``."""

import argparse
import sys

from smplestx.utils.metafile import validate_model_index


def main(argv=None) -> int:
    """Print every problem; exit 1 if there is any."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('index', nargs='?', default='model-index.yml')
    args = parser.parse_args(argv)
    problems = validate_model_index(args.index)
    for problem in problems:
        print(problem)
    print(f'{args.index}: {"OK" if not problems else f"{len(problems)} problem(s)"}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
