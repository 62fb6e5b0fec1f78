"""Cost of the CRC check of checkpoints against loading them, on one large file.

Every loading path verifies the CRC-32 of each member of a zip-format checkpoint first
(:func:`smplestx.utils.checkpoint_integrity.verify_checkpoint_file`). This writes a
checkpoint of ``--size-mb`` megabytes of float32 weights in ``--tensors`` tensors, then times,
in interleaved rounds with the file in the page cache: the CRC check (its memo cleared each
time), a full ``torch.load`` (``weights_only=True``), and a memory-mapped ``torch.load``
that touches every tensor once (what using the weights costs with ``mmap=True``). The check
reads the whole file once; the ratios say what it adds to each way of loading.

Measured on the shared 2-core AMD EPYC (load average 4 to 5), 2048 MiB, 3 rounds: CRC check
1.09 s, ``torch.load`` 2.99 s (check x0.36), memory-mapped load using every tensor 0.16 s
(check x6.8); see docs/benchmarks.md.

Example::

    python tools/analysis_tools/benchmark_checkpoint_crc.py --size-mb 2048 --rounds 3
"""

import argparse
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch

from smplestx.utils import checkpoint_integrity


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size-mb', type=int, default=2048, help='checkpoint size (MiB)')
    parser.add_argument('--tensors', type=int, default=64, help='number of tensors')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds')
    parser.add_argument('--work-dir', help='folder for the checkpoint (default: a temporary '
                        'folder, removed afterwards)')
    return parser.parse_args(argv)


def _verify(path: str) -> None:
    checkpoint_integrity._VERIFIED.clear()
    checkpoint_integrity.verify_checkpoint_file(path)


def _load(path: str) -> None:
    torch.load(path, map_location='cpu', weights_only=True)


def _load_mmap_and_touch(path: str) -> None:
    state = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    for tensor in state.values():
        float(tensor.sum())


def time_rounds(path: str, rounds: int) -> Dict[str, List[float]]:
    """Seconds per round of each way of reading ``path`` (one warm-up round first)."""
    steps: Dict[str, Callable[[str], None]] = {
        'crc check': _verify, 'torch.load': _load, 'torch.load mmap + use': _load_mmap_and_touch}
    times: Dict[str, List[float]] = {name: [] for name in steps}
    for round_index in range(rounds + 1):
        for name, step in steps.items():
            start = time.perf_counter()
            step(path)
            if round_index:
                times[name].append(time.perf_counter() - start)
    return times


def main(argv: Optional[List[str]] = None) -> None:
    """Write the checkpoint, time the three reads and print medians and ratios."""
    args = parse_args(argv)
    numel = args.size_mb * (1 << 20) // 4 // args.tensors
    with tempfile.TemporaryDirectory(dir=args.work_dir) as folder:
        path = osp.join(folder, 'big.pth')
        generator = torch.Generator().manual_seed(0)
        torch.save({f'w{i}': torch.rand(numel, generator=generator)
                    for i in range(args.tensors)}, path)
        size = os.path.getsize(path) / (1 << 20)
        times = time_rounds(path, args.rounds)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f'checkpoint: {size:.0f} MiB in {args.tensors} tensors, {args.rounds} rounds')
    for name, value in median.items():
        print(f'{name}: {value:.6f} s ({size / value:.0f} MiB/s)')
    crc = median['crc check']
    print(f'crc check / torch.load: x{crc / median["torch.load"]:.2f}')
    print(f'crc check / torch.load mmap + use: x{crc / median["torch.load mmap + use"]:.2f}')


if __name__ == '__main__':
    main()
