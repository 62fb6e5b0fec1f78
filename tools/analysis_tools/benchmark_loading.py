"""Time and peak memory of ``init_model`` on a checkpoint, each load in a fresh process.

Every load runs in its own Python process, which reports the wall time of ``init_model``,
its peak resident memory above the memory the process had before (the high-water mark
``VmHWM`` minus ``VmRSS`` of ``/proc/self/status``, Linux; not ``ru_maxrss``, which a
child process inherits from its parent), and that peak again after every weight has been
read once (a memory-mapped weight is only read from disk when used). ``--baseline-src DIR``
also loads with the smplestx package of another source tree (e.g. an older release) in
alternation with this one, so both are measured in one session.

Example (a stand-in of the released 8.25 GB file, from tools/misc/make_standin_checkpoint.py)::

    python tools/analysis_tools/benchmark_loading.py \
        configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py /tmp/standin_h.pth.tar \
        --body-model-dir ../shared/fixtures/body_models --runs 2
"""

import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Run in the child process: load, touch every weight, report JSON on the last line.
_CHILD = r'''
import json, sys, time
import torch

def status_kb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])

config, checkpoint, body_model_dir, precision, no_body_model = sys.argv[1:6]
from smplestx.apis import init_model
kwargs = {} if precision == 'fp32' else {'precision': precision}
if no_body_model == '1':
    kwargs['cfg_options'] = {'model.head.body_model': None}
before = status_kb('VmRSS')
start = time.perf_counter()
model = init_model(config, checkpoint, 'cpu', body_model_dir=body_model_dir or None, **kwargs)
seconds = time.perf_counter() - start
peak_init = status_kb('VmHWM')
with torch.no_grad():
    for tensor in model.state_dict().values():
        if torch.is_tensor(tensor):
            float((tensor.dequantize() if tensor.is_quantized else tensor).float().sum())
peak_used = status_kb('VmHWM')
from smplestx.utils.checkpoint import mmengine_safe_globals
with mmengine_safe_globals(checkpoint):
    stored = torch.load(checkpoint, map_location='cpu', weights_only=True, mmap=True)
stored = stored.get('network', stored.get('state_dict', stored))
weights = sum(t.numel() * 4 for t in stored.values() if torch.is_tensor(t))
print(json.dumps(dict(seconds=seconds, peak_init_gb=(peak_init - before) / 2**20,
                      peak_used_gb=(peak_used - before) / 2**20, fp32_weights_gb=weights / 2**30,
                      precision=getattr(model, 'precision', 'fp32'))))
'''


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint to load (official or converted)')
    parser.add_argument('--body-model-dir', default='', help='SMPL-X folder')
    parser.add_argument('--precision', default='fp32', help='precision= of init_model')
    parser.add_argument('--no-body-model', action='store_true',
                        help='build the model without its SMPL-X layer (whose buffers come '
                        'from the SMPL-X files, not the checkpoint), to measure the weights '
                        'alone')
    parser.add_argument('--runs', type=int, default=1, help='loads per source tree')
    parser.add_argument('--baseline-src', help='another source tree to load with, in turns')
    parser.add_argument('--threads', type=int, default=2, help='torch threads of each load')
    parser.add_argument('--json', action='store_true', help='print the results as JSON')
    return parser.parse_args(argv)


def load_once(args: argparse.Namespace, src: str) -> Dict:
    """One load in a fresh process importing smplestx from ``src``."""
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get('PYTHONPATH', ''),
               OMP_NUM_THREADS=str(args.threads))
    paths = [osp.abspath(p) if p else '' for p in (args.config, args.checkpoint,
                                                    args.body_model_dir)]
    # Run in ``src`` so that ``python -c`` (which puts the working folder first on
    # sys.path) imports that tree's smplestx.
    proc = subprocess.run([sys.executable, '-c', _CHILD, *paths, args.precision,
                           '1' if args.no_body_model else '0'], env=env,
                          cwd=src, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ['(no output)'])[-1]
        raise RuntimeError(f'loading with {src} failed: {tail}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> Dict[str, List[Dict]]:
    """Entry point; returns the runs per source tree."""
    args = parse_args(argv)
    trees = {'this tree': REPO}
    if args.baseline_src:
        trees['baseline'] = osp.abspath(args.baseline_src)
    results: Dict[str, List[Dict]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, src in trees.items():
            results[name].append(load_once(args, src))
    if args.json:
        print(json.dumps(results))
        return results
    size_gb = os.path.getsize(args.checkpoint) / 2**30
    print(f'{args.checkpoint}: {size_gb:.2f} GiB; init_model(precision={args.precision!r}), '
          f'{args.threads} threads, {args.runs} run(s) per tree, in turns')
    for name, runs in results.items():
        weights = runs[0]['fp32_weights_gb']
        seconds = statistics.median(r['seconds'] for r in runs)
        peak_init = max(r['peak_init_gb'] for r in runs)
        peak_used = max(r['peak_used_gb'] for r in runs)
        each = ', '.join(f"{r['seconds']:.2f}" for r in runs)
        print(f'  {name:9s} ({trees[name]}): {seconds:6.2f} s (median; all: '
              f'{each}), peak RSS {peak_init:.2f} GiB '
              f'after init_model, {peak_used:.2f} GiB after reading every weight '
              f'= x{peak_used / weights:.2f} the {weights:.2f} GiB of fp32 weights')
    if args.baseline_src:
        new, old = (statistics.median(r['seconds'] for r in results[k])
                    for k in ('this tree', 'baseline'))
        print(f'  time: x{new / old:.3f} of the baseline (x{old / new:.1f} faster)')
    return results


if __name__ == '__main__':
    main()
