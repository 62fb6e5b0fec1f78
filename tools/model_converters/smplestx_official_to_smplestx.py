"""Convert an official SMPLest-X checkpoint (``.pth.tar``) into a smplestx checkpoint.

Reads only ``network`` (``epoch`` and ``optimizer`` are dropped), renames
``module.encoder.*`` -> ``backbone.*`` and ``module.decoder.*`` -> ``head.*`` and writes
``{'state_dict': ..., 'meta': ...}`` atomically. With ``--config`` the model is built from
the config (on the meta device, without the SMPL-X body model, whose buffers are not
checkpointed) and the converted weights are loaded strictly before anything is written.

Example::

    python tools/model_converters/smplestx_official_to_smplestx.py \
        pretrained_models/smplest_x_h/smplest_x_h.pth.tar smplest_x_h_converted.pth \
        --config configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py
"""

import argparse
import os
import os.path as osp
import pickle
import tempfile
import zipfile
from typing import Any, Dict, Optional

import torch

from smplestx.models.utils.checkpoint_conversion import (
    CheckpointFormatError,
    convert_official_state_dict,
    is_official_checkpoint,
    is_smplestx_checkpoint,
    load_torch_file,
    official_network,
    validate_state_dict,
)
from smplestx.utils.checkpoint import mmengine_safe_globals
from smplestx.utils.cli import run_tool
from smplestx.utils.io import file_sha256
from smplestx.version import __version__


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='official checkpoint (e.g. smplest_x_h.pth.tar)')
    parser.add_argument('dst', help='output file for the smplestx checkpoint')
    parser.add_argument('--config', help='smplestx config to verify the converted weights '
                        'against (strict load)')
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
    from mmengine.registry import init_default_scope

    from smplestx.apis.inference import load_config, model_skeleton

    cfg = load_config(config)
    init_default_scope(cfg.get('default_scope', 'smplestx'))
    model = model_skeleton(cfg.model)
    validate_state_dict(state_dict, model.state_dict(), source=source)
    model.load_state_dict(state_dict, strict=True, assign=True)


def _already_converted(src: str) -> CheckpointFormatError:
    return CheckpointFormatError(
        f'{src} is already an smplestx checkpoint (backbone.*/head.* weights), not an official '
        f'one: it needs no conversion; give it to tools/test.py, the demo, init_model or '
        f'load_from as it is')


def _is_training_checkpoint(src: str) -> bool:
    """Whether ``src`` is an smplestx checkpoint with MMEngine's training state in ``meta``."""
    try:
        with mmengine_safe_globals(src):
            obj = torch.load(src, map_location='cpu', weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError,
            zipfile.BadZipFile):
        return False  # not one of ours: the first error stands
    return is_smplestx_checkpoint(obj)


def convert(src: str, dst: str, config: Optional[str] = None) -> Dict[str, Any]:
    """Convert ``src`` into ``dst``; see the module docstring.

    Returns:
        The ``meta`` dict written to ``dst``.

    Raises:
        CheckpointFormatError: If ``src`` is not an official checkpoint (saying so plainly
            when it is already an smplestx one).
    """
    try:
        obj = load_torch_file(src)
    except CheckpointFormatError:
        if _is_training_checkpoint(src):
            raise _already_converted(src) from None
        raise
    if not is_official_checkpoint(obj):
        if is_smplestx_checkpoint(obj):
            raise _already_converted(src)
        raise CheckpointFormatError(f"{src} is not an official SMPLest-X checkpoint (no "
                                    f"'network' entry or module.encoder.* keys)")
    state_dict = convert_official_state_dict(official_network(obj))
    if config is not None:
        verify_with_config(state_dict, config, source=src)
    meta = dict(
        smplestx_version=__version__,
        converted_from=osp.basename(src),
        source_sha256=file_sha256(src),
        source_epoch=obj.get('epoch') if isinstance(obj.get('epoch'), int) else None,
        config=osp.basename(config) if config else None,
        num_tensors=len(state_dict),
        num_params=int(sum(t.numel() for t in state_dict.values())),
    )
    out_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(dst) + '.', suffix='.tmp', dir=out_dir)
    os.close(fd)
    try:
        torch.save({'state_dict': state_dict, 'meta': meta}, tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return meta


def main(argv: Optional[list] = None) -> int:
    """Entry point; returns 0 (a bad input exits with one ``error:`` line, status 2)."""
    args = parse_args(argv)
    meta = convert(args.src, args.dst, args.config)
    verified = f', verified against {args.config}' if args.config else ''
    print(f'wrote {args.dst}: {meta["num_tensors"]} tensors, {meta["num_params"]:,} '
          f'parameters{verified}')
    return 0


if __name__ == '__main__':
    run_tool(main)
