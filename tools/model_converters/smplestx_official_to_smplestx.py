"""Convert an official SMPLest-X checkpoint (``.pth.tar``) into a smplestx checkpoint.

Reads only ``network`` (the file is memory-mapped: ``epoch`` and the optimizer state, two
thirds of the released file, are never read), renames ``module.encoder.*`` ->
``backbone.*`` and ``module.decoder.*`` -> ``head.*`` and writes the weights-only
``{'state_dict': ..., 'meta': ...}`` atomically. With ``--weights-only`` a Runner (MMEngine)
checkpoint is accepted too and reduced to its weights (optimizer, schedulers and message hub
dropped). ``--dtype bf16|fp16`` stores the weights in half precision (half the size); such
a file loads into an fp32 model (converted on load) or as it is in that precision, and with
``--config`` the tool measures and prints how far the outputs move on crops of the bundled
photo and video. With ``--config`` the model is also built from the config (on the meta
device, without the SMPL-X body model, whose buffers are not checkpointed) and the converted
weights are loaded strictly before anything is written.

Example::

    python tools/model_converters/smplestx_official_to_smplestx.py \
        pretrained_models/smplest_x_h/smplest_x_h.pth.tar smplest_x_h_converted.pth \
        --config configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py
"""

import argparse
import os.path as osp
from typing import Any, Dict, Mapping, Optional, Tuple

import torch

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointFormatError,
    convert_official_state_dict,
    is_official_checkpoint,
    is_smplestx_checkpoint,
    load_torch_file,
    official_network,
    runner_state_dict,
    validate_state_dict,
)
from smplestx.utils.cli import run_tool
from smplestx.utils.io import atomic_path, file_sha256
from smplestx.version import __version__

#: ``--dtype`` choices.
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='official checkpoint (e.g. smplest_x_h.pth.tar)')
    parser.add_argument('dst', help='output file for the smplestx checkpoint')
    parser.add_argument('--config', help='smplestx config to verify the converted weights '
                        'against (strict load) and, with --dtype, to measure the deviation')
    parser.add_argument('--weights-only', action='store_true',
                        help='also accept a Runner (MMEngine) checkpoint and keep only its '
                        'weights (official checkpoints are always reduced to their weights)')
    parser.add_argument('--dtype', choices=tuple(DTYPES), default='fp32',
                        help='store the weights in this precision (bf16/fp16: half the size)')
    parser.add_argument('--body-model-dir', help='SMPL-X folder for the deviation measurement '
                        '(default: the config\'s or $SMPLESTX_BODY_MODELS)')
    return parser.parse_args(argv)


def verify_with_config(state_dict: Dict[str, Any], config: str, source: str) -> None:
    """Build the model of ``config`` and load ``state_dict`` into it strictly.

    Args:
        state_dict: The converted state dict.
        config: Path of a smplestx config with a ``model`` entry.
        source: Checkpoint name for error messages.

    Raises:
        CheckpointMismatchError: If keys or shapes differ.
    """
    from smplestx.apis.inference import build_meta_network

    model = build_meta_network(config)
    validate_state_dict(state_dict, model.state_dict(), source=source)
    model.load_state_dict(state_dict, strict=True, assign=True)


def read_state_dict(src: str, weights_only: bool) -> Tuple[Dict[str, Any], Optional[int]]:
    """The smplestx state dict of ``src`` (memory-mapped) and its epoch, if recorded.

    Only the members of the weights are read, so only they are CRC-checked: the converted
    file's weights are those of an undamaged source even if its optimizer state is not.

    Raises:
        CheckpointFormatError: If ``src`` is not an official checkpoint (saying so plainly
            when it is already an smplestx one, which needs no conversion unless
            ``weights_only`` asks to reduce it to its weights).
    """
    obj = load_torch_file(src, mmap=True, mmengine_globals=True, weights_crc_only=True)
    if is_official_checkpoint(obj):
        epoch = obj.get('epoch')
        return convert_official_state_dict(official_network(obj)), \
            epoch if isinstance(epoch, int) else None
    if is_smplestx_checkpoint(obj):
        if weights_only and isinstance(obj.get('state_dict'), Mapping):
            epoch = (obj.get('meta') or {}).get('epoch')
            return runner_state_dict(obj, src), epoch if isinstance(epoch, int) else None
        raise CheckpointFormatError(
            f'{src} is already an smplestx checkpoint (backbone.*/head.* weights), not an '
            f'official one: it needs no conversion; give it to tools/test.py, the demo, '
            f'init_model or load_from as it is (--weights-only reduces a Runner checkpoint '
            f'to its weights)')
    raise CheckpointFormatError(f"{src} is not an official SMPLest-X checkpoint (no "
                                f"'network' entry or module.encoder.* keys)")


def convert(src: str, dst: str, config: Optional[str] = None, weights_only: bool = False,
            dtype: str = 'fp32') -> Dict[str, Any]:
    """Convert ``src`` into ``dst``; see the module docstring.

    Returns:
        The ``meta`` dict written to ``dst``.

    Raises:
        CheckpointFormatError: If ``src`` is not an official checkpoint (saying so plainly
            when it is already an smplestx one).
    """
    state_dict, epoch = read_state_dict(src, weights_only)
    if config is not None:
        verify_with_config(state_dict, config, source=src)
    target = DTYPES[dtype]
    state_dict = {k: v.to(target) if torch.is_tensor(v) and v.is_floating_point() else v
                  for k, v in state_dict.items()}
    meta = dict(
        smplestx_version=__version__,
        converted_from=osp.basename(src),
        source_sha256=file_sha256(src),
        source_epoch=epoch,
        config=osp.basename(config) if config else None,
        dtype=dtype,
        num_tensors=len(state_dict),
        num_params=int(sum(t.numel() for t in state_dict.values() if torch.is_tensor(t))),
    )
    with atomic_path(dst) as tmp:
        torch.save({'state_dict': state_dict, 'meta': meta}, tmp)
    return meta


def measure_deviation(src: str, dst: str, config: str, body_model_dir: Optional[str],
                      crops: int = 8) -> str:
    """One line: how far the outputs of ``dst`` (loaded in fp32) are from those of ``src``."""
    from smplestx.apis import init_model
    from smplestx.evaluation.functional.precision_deviation import (
        demo_crops,
        format_deviation,
        output_deviation,
    )
    from smplestx.utils.body_model_files import BodyModelFilesError

    try:
        original = init_model(config, src, body_model_dir=body_model_dir)
    except BodyModelFilesError as err:
        return f'deviation not measured (pass --body-model-dir): {err}'
    converted = init_model(config, dst, body_model_dir=body_model_dir)
    with torch.no_grad():
        inputs = original.data_preprocessor(dict(inputs=demo_crops(crops)))['inputs']
        dev = output_deviation(original(inputs, mode='tensor'),
                               converted(inputs, mode='tensor'))
    return f'deviation from the original on {crops} demo crops: {format_deviation(dev)}'


def main(argv: Optional[list] = None) -> int:
    """Entry point; returns 0 (a bad input exits with one ``error:`` line, status 2)."""
    args = parse_args(argv)
    meta = convert(args.src, args.dst, args.config, args.weights_only, args.dtype)
    verified = f', verified against {args.config}' if args.config else ''
    print(f'wrote {args.dst}: {meta["num_tensors"]} tensors, {meta["num_params"]:,} '
          f'{args.dtype} parameters, {osp.getsize(args.dst) / 1e6:.1f} MB{verified}')
    if args.dtype != 'fp32':
        print(measure_deviation(args.src, args.dst, args.config, args.body_model_dir)
              if args.config else 'pass --config to measure the deviation this dtype causes')
    return 0


if __name__ == '__main__':
    run_tool(main)
