"""Parameters, FLOPs and throughput of the SMPLest-X network per model size and precision.

For each size (config ``configs/smplestx/smplestx_vit-{size}_*.py``, or ``--config``) it
reports the parameter count, the FLOPs of one crop (``torch.utils.flop_counter``; one
multiply-add counts as 2 FLOPs) and crops/s for each batch size and ``--precision`` (fp32,
bf16, fp16, int8, auto; see ``smplestx.models.utils.precision``) on the CPU and, when
present, the GPU. ``--compare-official`` times every precision against a faithful
re-implementation of the official fp32 forward (``smplestx.testing.official_reference``,
which does all of the official test-mode work), with the same weights in the same process.
Each iteration runs every side, in a rotating order. It prints the ratio of the median wall
times, the median of the per-iteration ratios and the ratio of process CPU times.
``--profile N`` adds the N most expensive operators of one forward on each side.

The inputs are crops of the bundled photo and video (``demo/``), cut as the demo cuts them.
The network is the backbone and head (no SMPL-X layer) unless ``--body-model-dir`` is
given, which adds the decoding (rotations, camera, SMPL-X) to every side, and then reports
next to each low precision its deviation from fp32 at equal weights (vertices and joints in
mm, rotations in degrees); ``--checkpoint`` (with ``--config``) measures it with your
weights instead of random ones.

Measured (docs/benchmarks.md has the details and the operator profile):

* Machine: a 2-vCPU AMD EPYC (AVX2, no AVX-512), shared with other jobs (load average 0.1
  to 8 during the runs).
* Software: torch 2.13.0, 2 threads (the default).
* Workload: fp32, batch 8, SMPL-X decoding included, 10 to 12 interleaved iterations per
  run, ours against the official reference in ms per batch:

  - S: 1743 against 2246 (x1.29) in the quietest run. x1.32 to x1.39 in three loaded runs.
    With 1 thread, in CPU time: x1.26.
  - B: 4977 against 5242 (x1.05) in the quietest run. x0.98 to x1.17 in three loaded runs.
    With 1 thread, in CPU time: x1.13.

  - B on a later, quieter day: 3589 against 3902 (x1.09); network only, 3485 against 4014
    (x1.15). Compiled with ``--compile`` (Inductor freezing): 3726 against 3837 (x1.03), and
    x1.03 with both sides compiled, so compiling does not help on this CPU.

The x1.2 target is met for S and not for B. About 80% of B's time is in fp32 linear
layers, which are the same GEMMs on both sides and run at the machine's matmul rate. So
fused attention and the removed copies and dead work can give at most about x1.1 there.

Lower precisions go past that limit. On a 2-vCPU AMD EPYC (Zen 5: AVX512-BF16 and VNNI, no
AMX), loaded, 1 thread, batch 8, SMPL-X decoding included: int8 (what ``auto`` picks there)
x3.08 to x4.42 over the official fp32 forward for B and x3.50 for H, bf16 x2.44 to x5.16.
On a 2-vCPU Intel Xeon with AMX, quiet, 2 threads, batch 8: bf16 (what ``auto`` picks there)
x4.99 for B and x5.28 for H, int8 x2.11 and x2.37. The deviations from fp32 are in
docs/benchmarks.md.

Example (small, for a shared CPU)::

    python tools/analysis_tools/benchmark_model.py --sizes s --batch-sizes 8 --iters 3
    python tools/analysis_tools/benchmark_model.py --sizes s b --batch-sizes 8 --precision fp32 \
        --compare-official --body-model-dir ../shared/fixtures/body_models --iters 12
    python tools/analysis_tools/benchmark_model.py --sizes s b h --batch-sizes 1 8 \
        --precision fp32 bf16 int8 auto --compare-official \
        --body-model-dir ../shared/fixtures/body_models --iters 3 --warmup 1
"""

import argparse
import contextlib
import copy
import glob
import os
import os.path as osp
import platform
import re
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

from smplestx.models.utils.precision import (
    PRECISIONS,
    apply_precision,
    describe_cpu,
    resolve_precision,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZES = ('tiny', 's', 'b', 'l', 'h')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', nargs='+', default=['s'], choices=SIZES)
    parser.add_argument('--config', help='time this config instead of --sizes')
    parser.add_argument('--checkpoint', help='weights for --config (default: random weights)')
    parser.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 8, 32])
    parser.add_argument('--precision', nargs='+', default=['fp32'], choices=PRECISIONS,
                        help='inference precisions to time (auto: the fastest this device '
                        'supports; each low precision also gets its deviation from fp32 with '
                        '--body-model-dir)')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations')
    parser.add_argument('--devices', nargs='+', default=None,
                        help='devices to time on (default: cpu, plus cuda when available)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--attn-impl', default='sdpa', choices=('sdpa', 'explicit'))
    parser.add_argument('--compare-official', action='store_true',
                        help='time every precision against the official-forward reference '
                        '(fp32), interleaved')
    parser.add_argument('--body-model-dir', default=None,
                        help='SMPL-X folder; when given, decoding and SMPL-X are timed too')
    parser.add_argument('--profile', type=int, default=0, metavar='ROWS',
                        help='also print the ROWS most expensive operators of one forward '
                        '(ours, and the official reference with --compare-official)')
    parser.add_argument('--compile', action='store_true',
                        help='time our network compiled (torch.compile with Inductor weight '
                        'freezing; measured no faster on a 2-core CPU); needs one --devices entry')
    parser.add_argument('--compile-official', action='store_true',
                        help='with --compare-official, compile the reference the same way')
    parser.add_argument('--onnxruntime', action='store_true',
                        help='also time the model exported to ONNX and run by ONNX Runtime '
                        '(CPU only; needs --body-model-dir)')
    parser.add_argument('--config-dir', default=osp.join(REPO, 'configs', 'smplestx'))
    args = parser.parse_args(argv)
    if (args.compile or args.compile_official) and len(devices(args)) != 1:
        parser.error('--compile/--compile-official need exactly one device (--devices cpu)')
    if args.onnxruntime and not args.body_model_dir:
        parser.error('--onnxruntime needs --body-model-dir (the exported graph includes the '
                     'camera and the SMPL-X layer)')
    if args.checkpoint and not args.config:
        parser.error('--checkpoint needs the --config of its model')
    return args


def config_path(size: str, config_dir: str) -> str:
    """The config file of a size (``smplestx_vit-{size}_*.py``)."""
    matches = sorted(glob.glob(osp.join(config_dir, f'smplestx_vit-{size}_*.py')))
    if not matches:
        raise FileNotFoundError(f'no config smplestx_vit-{size}_*.py in {config_dir}')
    return matches[0]


def build_model(config: str, args: argparse.Namespace) -> torch.nn.Module:
    """Build the fp32 estimator of ``config`` (random weights or ``--checkpoint``), eval mode."""
    from smplestx.apis import init_model

    options = {'model.backbone.attn_impl': args.attn_impl,
               'model.head.attn_impl': args.attn_impl, 'model.head.loss': None}
    if not args.body_model_dir:
        options['model.head.body_model'] = None
    return init_model(config, args.checkpoint, 'cpu', cfg_options=options,
                      body_model_dir=args.body_model_dir, seed=0, precision='fp32')


def our_forward(model: torch.nn.Module, decode: bool) -> Callable[[torch.Tensor], object]:
    """Our inference on a (B, 3, 512, 384) [0, 1] batch (subsample, backbone, head)."""

    def run(img: torch.Tensor) -> object:
        net_in = img[..., ::2, ::2]
        if decode:
            return model._forward(net_in)
        return model.head(model.backbone(net_in))

    return run


def reference_forward(model: torch.nn.Module, decode: bool) -> Callable[[torch.Tensor], object]:
    """The official-forward reference sharing our fp32 model's weights."""
    from smplestx.testing.official_reference import OfficialReferenceNet, official_decode

    backbone, head = model.backbone, model.head
    ref = OfficialReferenceNet(backbone.embed_dim, len(backbone.blocks),
                               backbone.blocks[0].attn.num_heads,
                               dim_out=head.token_conv.out_features)
    ref.load_smplestx_state_dict(model.state_dict(), share=True)
    ref.eval()

    def run(img: torch.Tensor) -> object:
        raw = ref(img)
        return official_decode(raw, head.body_model, head.camera_3d_size) if decode else raw

    run.module = ref
    return run


def onnxruntime_forward(model: torch.nn.Module, out_dir: str) -> Callable[[torch.Tensor], object]:
    """Our model exported to ONNX (with SMPL-X) and run by ONNX Runtime on the CPU."""
    from smplestx.deployment import export_onnx, onnx_session, run_onnx

    path = export_onnx(model, osp.join(out_dir, 'model.onnx'))
    # No spinning: idle ONNX Runtime threads would steal the cores from the PyTorch sides.
    session = onnx_session(path, threads=torch.get_num_threads(), spinning=False)

    def run(img: torch.Tensor) -> object:
        return run_onnx(session, img[..., ::2, ::2].numpy())

    return run


def precision_variants(model: torch.nn.Module, names: Sequence[str], device: str
                       ) -> List[Tuple[str, torch.nn.Module]]:
    """``(label, model)`` per requested precision that ``device`` runs, converted once.

    fp32 is the model itself; the others are converted copies. ``auto`` is labelled with
    what it picked (``auto=bf16``) and shares that mode's model when both are asked for.
    """
    variants: Dict[str, Tuple[str, torch.nn.Module]] = {}
    for name in names:
        try:
            choice = resolve_precision(name, device)
        except ValueError as err:
            print(f'  {device}: {name} skipped: {err}', flush=True)
            continue
        if choice.name in variants:
            if name == 'auto':
                label, converted = variants[choice.name]
                variants[choice.name] = (f'{label}(auto)', converted)
            continue
        if choice.name == 'fp32':
            converted = model
        else:
            converted = copy.deepcopy(model).cpu()
            apply_precision(converted, choice)
            converted.to(device)
        label = f'auto={choice.name}' if name == 'auto' else choice.name
        print(f'  {device}: {label}: {choice.describe()}', flush=True)
        variants[choice.name] = (label, converted)
    return list(variants.values())


def sync(device: str) -> None:
    """Wait for the device."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def time_once(fn: Callable, img: torch.Tensor, device: str) -> Tuple[float, float]:
    """Wall-clock and process CPU seconds of one call."""
    sync(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        fn(img)
    sync(device)
    return time.perf_counter() - start, time.process_time() - cpu_start


def count_flops(fn: Callable, device: str) -> int:
    """FLOPs of one crop."""
    img = torch.rand(1, 3, 512, 384, device=device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        fn(img)
    return counter.get_total_flops()


def devices(args: argparse.Namespace) -> List[str]:
    """The devices to time on."""
    if args.devices:
        return args.devices
    return ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def input_batch(batch: int, device: str) -> torch.Tensor:
    """(B, 3, 512, 384) float crops in [0, 1] from the bundled photo and video."""
    from smplestx.evaluation.functional.precision_deviation import demo_crops

    return (demo_crops(batch, REPO).float() / 255).to(device)


def print_deviations(variants: Sequence[Tuple[str, torch.nn.Module]], img: torch.Tensor,
                     row: Dict) -> None:
    """Add each low precision's deviation from fp32 (equal weights, same crops) to ``row``."""
    from smplestx.evaluation.functional.precision_deviation import (
        format_deviation,
        output_deviation,
    )

    reference = next((m for label, m in variants if label.startswith('fp32')), None)
    if reference is None:
        print('    (no fp32 side: deviations need --precision fp32 too)')
        return
    with torch.inference_mode():
        ref_out = {k: v.float().cpu() for k, v in our_forward(reference, True)(img).items()}
        for label, model in variants:
            if model is reference:
                continue
            out = {k: v.float().cpu() for k, v in our_forward(model, True)(img).items()}
            dev = output_deviation(ref_out, out)
            row[f'{label}_deviation'] = dev
            print(f'    {label} vs fp32: {format_deviation(dev)}', flush=True)
        # How sensitive these weights are: fp32 math with every weight rounded to bf16 (what
        # a converter --dtype bf16 file gives in fp32).
        rounded = copy.deepcopy(reference)
        for param in rounded.parameters():
            param.copy_(param.bfloat16().float())
        out = {k: v.float().cpu() for k, v in our_forward(rounded, True)(img).items()}
        del rounded
        dev = output_deviation(ref_out, out)
        row['bf16_file_deviation'] = dev
        print(f'    fp32, weights of a --dtype bf16 file: {format_deviation(dev)}', flush=True)


def benchmark(size: str, config: str, args: argparse.Namespace) -> List[Dict]:
    """Throughput rows of one size."""
    model = build_model(config, args)
    decode = bool(args.body_model_dir)
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(our_forward(model, decode), 'cpu')
    weights = 'checkpoint ' + args.checkpoint if args.checkpoint else 'random weights'
    print(f'[{size}] params {params:,} ({params / 1e6:.1f}M), {flops / 1e9:.2f} GFLOPs/crop '
          f'({"with" if decode else "without"} SMPL-X decoding), {weights}', flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ort_run = onnxruntime_forward(model, tmp) if args.onnxruntime else None
    for device in devices(args):
        model.to(device)
        variants = precision_variants(model, args.precision, device)
        ref = reference_forward(model, decode) if args.compare_official else None
        extra = [('onnxruntime', ort_run)] if ort_run and device == 'cpu' else []
        if ref is not None:
            ref.module.to(device)
        if args.compile:
            for _, variant in variants:
                compile_frozen(variant.backbone)
                compile_frozen(variant.head)
        if args.compile_official and ref is not None:
            compile_frozen(ref.module)
        sides = [(label, our_forward(m, decode)) for label, m in variants] + extra
        for batch in args.batch_sizes:
            img = input_batch(batch, device)
            row = time_size(size, device, batch, img, sides, ref, args)
            if decode:
                print_deviations(variants, img, row)
            rows.append(row)
            if args.profile and device == 'cpu':
                for label, fn in sides:
                    profile_forward(f'{label}, bs{batch}', fn, img, args.profile)
                if ref is not None:
                    profile_forward(f'official, bs{batch}', ref, img, args.profile)
        del variants, sides, ref
        model.to('cpu')
    return rows


def compile_frozen(module: torch.nn.Module) -> None:
    """Compile ``module.forward`` with Inductor's weight freezing, for inference only.

    Frozen weights are baked into the compiled code: the module must not change after
    its first compiled call (this tool never changes it).
    """
    module.forward = torch.compile(module.forward, dynamic=False, options={'freezing': True})


def time_size(size: str, device: str, batch: int, img: torch.Tensor,
              sides: Sequence[Tuple[str, Callable]], ref: Optional[Callable],
              args: argparse.Namespace) -> Dict:
    """Time every side (and the reference) on one batch, interleaved; print and return a row.

    Every iteration runs every side; the order rotates by one each iteration and is
    reversed on odd ones, so that slow drifts of a shared machine hit all sides alike. The
    row holds the median wall time per side (``<label>_s``), and with the reference each
    side's ratio of the medians (``<label>_speedup``), the median of its per-iteration
    ratios (``<label>_pair_speedup``) and the same ratio in process CPU time
    (``<label>_cpu_speedup``).
    """
    fns: List[Tuple[str, Callable]] = list(sides) + ([('official', ref)] if ref else [])
    for _ in range(args.warmup):
        for _, fn in fns:
            time_once(fn, img, device)
    wall: Dict[str, List[float]] = {name: [] for name, _ in fns}
    cpu: Dict[str, List[float]] = {name: [] for name, _ in fns}
    for i in range(args.iters):
        order = fns[i % len(fns):] + fns[:i % len(fns)]
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            seconds, cpu_seconds = time_once(fn, img, device)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    row = dict(size=size, device=device, batch=batch, threads=torch.get_num_threads(),
               iters=args.iters)
    print(f'  {device} bs{batch} ({args.iters} interleaved iterations):', flush=True)
    for name, samples in wall.items():
        med = statistics.median(samples)
        row[f'{name}_s'] = med
        row[f'{name}_crops_per_s'] = batch / med
        row[f'{name}_cpu_s'] = statistics.median(cpu[name])
        text = f'    {name:12s} {batch / med:8.2f} crops/s ({med * 1e3:9.1f} ms)'
        if ref is not None and name != 'official':
            speedup = statistics.median(wall['official']) / med
            pair = statistics.median(theirs / mine
                                     for mine, theirs in zip(samples, wall['official']))
            cpu_speedup = statistics.median(cpu['official']) / row[f'{name}_cpu_s']
            row.update({f'{name}_speedup': speedup, f'{name}_pair_speedup': pair,
                        f'{name}_cpu_speedup': cpu_speedup})
            text += (f'  x{speedup:.2f} over official fp32 (per-pair median x{pair:.2f}, '
                     f'CPU time x{cpu_speedup:.2f})')
        print(text, flush=True)
    return row


def onednn_isa() -> str:
    """The instruction set oneDNN dispatches to, from its verbose header (one bf16 matmul)."""
    with tempfile.TemporaryFile(mode='w+b') as capture:
        saved = os.dup(1)
        try:
            os.dup2(capture.fileno(), 1)
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON), \
                    torch.inference_mode():
                torch.nn.functional.linear(torch.ones(16, 64, dtype=torch.bfloat16),
                                           torch.ones(32, 64, dtype=torch.bfloat16))
            torch.cpu.synchronize()
        finally:
            with contextlib.suppress(OSError):
                os.fsync(1)
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode('utf-8', 'replace')
    isa = re.search(r'isa:([^\n]+)', text)
    kernel = re.search(r'exec,cpu,(?:inner_product|matmul),([^,]+)', text)
    if not isa:
        return 'oneDNN verbose gave no ISA line'
    return f'{isa.group(1).strip()}; bf16 linear kernel: ' + (kernel.group(1) if kernel else '?')


def describe_environment() -> str:
    """Lines naming torch, threads, the CPU (model, features, kernels) and the current load."""
    load = ', '.join(f'{x:.1f}' for x in os.getloadavg()) if hasattr(os, 'getloadavg') else '?'
    config = torch.__config__.show()
    libs = [m.group(0).strip() for m in re.finditer(
        r'(Intel\(R\) MKL-DNN v[\d.]+|oneDNN v[\d.]+|Math Kernel Library Version [\w.-]+)',
        config)]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else \
        'no GPU: the GPU precision paths (bf16/fp16 weights on cuda) are not run'
    return '\n'.join((
        f'torch {torch.__version__} ({platform.python_implementation()} '
        f'{platform.python_version()}), {torch.get_num_threads()} threads, '
        f'{os.cpu_count()} logical CPUs, load average {load}',
        f'CPU: {describe_cpu()}',
        f'libraries: {", ".join(libs) or "?"}; oneDNN ISA: {onednn_isa()}',
        f'GPU: {gpu}'))


def profile_forward(name: str, fn: Callable, img: torch.Tensor, rows: int) -> None:
    """Print the ``rows`` most expensive operators (self CPU time) of one call."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        fn(img)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn(img)
    print(f'--- profile: {name} ---')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows))


def main(argv: Optional[Sequence[str]] = None) -> List[Dict]:
    """Entry point; returns all rows."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(describe_environment(), flush=True)
    targets = [(osp.basename(args.config), args.config)] if args.config else \
        [(size, config_path(size, args.config_dir)) for size in args.sizes]
    rows = []
    for size, config in targets:
        rows.extend(benchmark(size, config, args))
    return rows


if __name__ == '__main__':
    main()
