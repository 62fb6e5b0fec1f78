"""Export a SMPLest-X model to ONNX and check it against PyTorch with ONNX Runtime.

The graph takes (B, 3, 256, 192) RGB crops in [0, 1] (the network input, see
docs/deployment.md) and returns the SMPL-X parameters in ``smplx`` naming, the camera
translation and, unless ``--no-mesh``, the posed mesh, the camera-frame joints and their
crop projections. The file is written atomically; models with over 1 GB of weights (ViT-L,
ViT-H) keep their weights in ``<out>.data`` next to it.

Example::

    python tools/deployment/pytorch2onnx.py \
        configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py \
        pretrained_models/smplest_x_h/smplest_x_h.pth.tar \
        --body-model-dir human_models/human_model_files --out smplestx_h.onnx --verify
"""

import argparse
import sys
from typing import Optional, Sequence

from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='weights (official .pth.tar or converted); omit only to export '
                        'seeded random weights, e.g. to try the tool')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--body-model-dir', help='SMPL-X folder (default: the config or '
                        'the SMPLESTX_BODY_MODELS environment variable)')
    parser.add_argument('--no-mesh', action='store_true',
                        help='leave the SMPL-X layer out: parameters and camera only')
    parser.add_argument('--opset', type=int, default=None, help='ONNX opset (default 18)')
    parser.add_argument('--external-data', action='store_true',
                        help='always keep the weights in <out>.data (automatic above 1 GB)')
    parser.add_argument('--verify', action='store_true',
                        help='run the graph with ONNX Runtime on random crops (batches 1 and '
                        '3) and compare every output with PyTorch')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='absolute part of the difference --verify accepts')
    parser.add_argument('--rtol', type=float, default=1e-5,
                        help='relative part, times the largest magnitude of each output')
    parser.add_argument('--seed', type=int, default=0, help='seed of random weights')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    from smplestx.apis import init_model
    from smplestx.deployment import compare_with_pytorch, export_onnx
    from smplestx.deployment.onnx_export import DEFAULT_OPSET

    try:
        model = init_model(args.config, args.checkpoint, 'cpu',
                           body_model_dir=args.body_model_dir,
                           seed=None if args.checkpoint else args.seed)
        path = export_onnx(model, args.out, with_mesh=not args.no_mesh,
                           opset=args.opset or DEFAULT_OPSET,
                           external_data=True if args.external_data else None)
    except (ImportError, ValueError, *CHECKPOINT_ERRORS) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {path}')
    if not args.verify:
        return 0
    failed = []
    for name, (diff, scale) in compare_with_pytorch(model, path, batch_sizes=(1, 3)).items():
        allowed = args.atol + args.rtol * scale
        print(f'  {name:16s} max |onnxruntime - pytorch| = {diff:.2e} (allowed {allowed:.2e}, '
              f'largest value {scale:.3g})')
        if diff > allowed:
            failed.append(f'{name} differs by {diff:.2e} > {allowed:.2e}')
    if failed:
        print(f'error: {"; ".join(failed)} (--atol {args.atol:g}, --rtol {args.rtol:g})',
              file=sys.stderr)
        return 1
    print(f'verified: every output within --atol {args.atol:g} + --rtol {args.rtol:g} x its '
          f'largest value')
    return 0


if __name__ == '__main__':
    sys.exit(main())
