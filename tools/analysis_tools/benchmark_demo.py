"""Demo throughput: frames/s of the inferencer with 1 and 4 people per frame, batched or not.

Each frame is the bundled ``demo/astronaut.jpg`` with N given person boxes (tiled across
the image), run through :meth:`SMPLestXInferencer.stream` once with ``--batch-size``
people per model batch and once one crop at a time (``batch_size=1``), with the same model
and in alternating order. It prints, for both, wall-clock frames/s and frames per process
CPU-second (less affected by other jobs on a shared machine), and their ratios. Overlays
are not rendered unless ``--render`` is given. The model is the ViT-S config with seeded
random weights (speed does not depend on the weights) and the synthetic fixture body
model (``../shared/fixtures/body_models``), or a generated stand-in when that is absent.

Measured on 2026-11-24 (2-vCPU shared CPU, load average about 3 from other jobs, torch
2.13 CPU, ViT-S, fp32, synthetic body model, no rendering, batched = ``batch_size=4``):

* ``--threads 1 --frames 4 --rounds 3`` (the least noisy setting here):

  - 1 person/frame: batched 2.42 fps, one crop at a time 1.68 fps (x1.44 wall); per
    CPU-second 3.00 against 2.80 frames (x1.07).
  - 4 people/frame: batched 0.49 fps, one crop at a time 0.49 fps (x0.99 wall); per
    CPU-second 0.69 against 0.69 frames (x1.01).

* Default 2 threads, same machine: the wall ratios swung from x0.46 to x2.35 between runs
  (two threads on two busy cores), so they say nothing about batching.

Measured again on a later day on the quiet machine (load average about 1, nothing else
running; default 2 threads, ``--frames 4 --rounds 3``):

* 1 person/frame: batched 4.22 fps, one crop at a time 3.54 fps (x1.19 wall, x1.19 per
  CPU-second).
* 4 people/frame: batched 1.11 fps, one crop at a time 0.97 fps (x1.14 wall, x1.15 per
  CPU-second).

The 2x target for batching at 4 people per frame is **not** met on this CPU. A profile
(cProfile) puts over 99% of the time in the network forward, mostly the ``linear`` layers
of the ViT and the decoder (about 0.35 CPU-s per crop for ViT-S), which cost the same per
crop whether crops come one by one or four at a time; pipeline, collation, SMPL-X and
unpacking are per batch or negligible. Batching pays off where one crop does not fill the
device (GPU, many-core CPU), which was not measured here.

Example::

    python tools/analysis_tools/benchmark_demo.py --frames 4 --rounds 3 --threads 1
"""

import argparse
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'smplestx', 'smplestx_vit-s_16xb16-20e_h40-256x192.py')
IMAGE = osp.join(REPO, 'demo', 'astronaut.jpg')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='model config (ViT-S)')
    parser.add_argument('--body-model-dir', default=None,
                        help='SMPL-X folder (default: the shared fixture, else a stand-in)')
    parser.add_argument('--people', nargs='+', type=int, default=[1, 4],
                        help='people (boxes) per frame')
    parser.add_argument('--batch-size', type=int, default=4, help='batched people per batch')
    parser.add_argument('--frames', type=int, default=4, help='frames per timed run')
    parser.add_argument('--rounds', type=int, default=2,
                        help='timed runs per setting (alternating batched/one-at-a-time)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed frames per setting')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--render', action='store_true', help='also render overlays')
    return parser.parse_args(argv)


def person_boxes(width: int, height: int, people: int) -> List[List[float]]:
    """``people`` side-by-side boxes ``[x1, y1, x2, y2, score]`` covering the image."""
    step = width / people
    return [[i * step, 0.0, (i + 1) * step, float(height), 1.0] for i in range(people)]


def default_body_model_dir() -> Optional[str]:
    """The shared synthetic body model, or ``None`` (the demo then makes a stand-in)."""
    from smplestx.testing.fixtures import body_models_dir

    path = body_models_dir()
    return None if path is None else os.fspath(path)


def build(config: str, body_model_dir: Optional[str], device: str):
    """The demo's inferencer for ``config`` with seeded random (neutral readout) weights."""
    from smplestx.apis.demo import build_inferencer, resolve_demo_setup

    setup = resolve_demo_setup(config, None, body_model_dir or default_body_model_dir())
    setup.checkpoint = None
    if setup.notice:
        print(setup.notice, file=sys.stderr)
    return build_inferencer(setup, device)


def time_stream(inferencer, image: np.ndarray, boxes: List[List[float]], frames: int,
                batch_size: int, render: bool) -> Tuple[float, float]:
    """Wall and process-CPU seconds to run ``frames`` copies of ``image`` through the inferencer."""
    start, cpu_start = time.perf_counter(), time.process_time()
    done = 0
    for result in inferencer.stream([image] * frames, batch_size=batch_size, boxes=boxes,
                                    return_vis=render):
        if len(result.people) != len(boxes):
            raise RuntimeError(f'expected {len(boxes)} people, got {len(result.people)}')
        done += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if done != frames:
        raise RuntimeError(f'expected {frames} frame results, got {done}')
    return elapsed, cpu


def benchmark(args: argparse.Namespace) -> Dict[int, Dict[str, float]]:
    """Median frames/s per number of people, batched and one crop at a time."""
    inferencer = build(args.config, args.body_model_dir, args.device)
    image = cv2.imread(IMAGE)
    height, width = image.shape[:2]
    results = {}
    for people in args.people:
        boxes = person_boxes(width, height, people)
        settings = {'batched': args.batch_size, 'single': 1}
        times: Dict[str, List[Tuple[float, float]]] = {name: [] for name in settings}
        for bs in settings.values():
            if args.warmup:
                time_stream(inferencer, image, boxes, args.warmup, bs, args.render)
        for _ in range(args.rounds):
            for name, bs in settings.items():
                times[name].append(time_stream(inferencer, image, boxes, args.frames, bs,
                                               args.render))
        fps = {}
        for name, pairs in times.items():
            fps[name] = args.frames / statistics.median(w for w, _ in pairs)
            fps[f'{name}_cpu'] = args.frames / statistics.median(c for _, c in pairs)
        fps['ratio'] = fps['batched'] / fps['single']
        fps['ratio_cpu'] = fps['batched_cpu'] / fps['single_cpu']
        results[people] = fps
        print(f'{people} people/frame: batched (bs={args.batch_size}) {fps["batched"]:.2f} fps, '
              f'one crop at a time {fps["single"]:.2f} fps, ratio x{fps["ratio"]:.2f} '
              f'(per CPU-second: {fps["batched_cpu"]:.2f} vs {fps["single_cpu"]:.2f} frames, '
              f'x{fps["ratio_cpu"]:.2f})', flush=True)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print a summary."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'config {osp.basename(args.config)}, device {args.device}, torch '
          f'{torch.__version__}, {torch.get_num_threads()} threads, {args.frames} frames x '
          f'{args.rounds} rounds, render={args.render}', flush=True)
    benchmark(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
