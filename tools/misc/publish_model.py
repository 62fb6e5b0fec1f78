"""Strip a training checkpoint down to its weights for publishing.

Keeps ``state_dict`` and the plain-data part of ``meta``; drops the optimizer, the
parameter schedulers, the message hub and anything else only resuming needs. The output
loads with ``torch.load(..., weights_only=True)`` on any torch without an allowlist, and
its name gets the first 8 hex digits of its sha256 (the OpenMMLab convention)::

    python tools/misc/publish_model.py work_dirs/x/epoch_20.pth smplestx_h.pth
    # -> smplestx_h-1a2b3c4d.pth
"""

import argparse
import os
import os.path as osp
import sys
from typing import Any, Dict, Optional, Tuple

import torch

from smplestx.models.utils.checkpoint_conversion import (
    CHECKPOINT_ERRORS,
    load_torch_file,
    runner_state_dict,
)
from smplestx.utils.io import atomic_open, file_sha256

#: Meta entries worth keeping (they describe the weights, not the training state).
KEPT_META = ('epoch', 'iter', 'seed', 'experiment_name', 'mmengine_version', 'smplestx_version',
             'cfg', 'dataset_meta', 'time')


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('in_file', help='training checkpoint (MMEngine format)')
    parser.add_argument('out_file', help='output file; the hash is inserted before .pth')
    parser.add_argument('--no-hash', action='store_true',
                        help='write out_file as given, without the sha256 suffix')
    return parser.parse_args(argv)


def _plain(value: Any) -> bool:
    """Whether ``value`` is built only from types ``weights_only`` loading accepts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def load_training_checkpoint(path: str) -> Dict[str, Any]:
    """Load an MMEngine checkpoint: CRC-checked, memory-mapped, ``weights_only=True``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If it is not a torch checkpoint, is damaged, or has no ``state_dict``.
        UnsafeCheckpointError: If it holds objects outside the MMEngine allowlist.
    """
    checkpoint = load_torch_file(path, mmap=True, mmengine_globals=True)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get('state_dict'), dict):
        found = list(checkpoint)[:5] if isinstance(checkpoint, dict) else type(checkpoint)
        raise ValueError(f'{path} has no state_dict (found {found}); is it an MMEngine '
                         f'checkpoint?')
    return dict(checkpoint, state_dict=runner_state_dict(checkpoint, path))


def strip_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """Return ``{'state_dict', 'meta'}`` with only weights and plain-data meta.

    Tensors are made contiguous and detached from views of larger storages, so the file
    holds nothing but the parameters and buffers.
    """
    state_dict = {k: v.detach().clone().contiguous() if isinstance(v, torch.Tensor) else v
                  for k, v in checkpoint['state_dict'].items()}
    meta = checkpoint.get('meta') or {}
    kept = {k: meta[k] for k in KEPT_META if k in meta and _plain(meta[k])}
    return dict(state_dict=state_dict, meta=kept)


def publish(in_file: str, out_file: str, add_hash: bool = True) -> Tuple[str, str]:
    """Write the stripped checkpoint; return its final path and its sha256.

    Args:
        in_file: The training checkpoint.
        out_file: Output path; with ``add_hash`` it becomes ``<stem>-<sha8><ext>``.
        add_hash: Insert the first 8 hex digits of the file's sha256 into the name.

    Returns:
        The path written and the sha256 hex digest of its content (the file is read
        once).
    """
    published = strip_checkpoint(load_training_checkpoint(in_file))
    with atomic_open(out_file, 'wb') as handle:
        torch.save(published, handle)
    digest = file_sha256(out_file)
    if not add_hash:
        return out_file, digest
    stem, ext = osp.splitext(out_file)
    final = f'{stem}-{digest[:8]}{ext or ".pth"}'
    os.replace(out_file, final)
    return final, digest


def main(argv: Optional[list] = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        final, digest = publish(args.in_file, args.out_file, add_hash=not args.no_hash)
    except (ValueError, *CHECKPOINT_ERRORS) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    size = osp.getsize(final) / 2**20
    print(f'wrote {final} ({size:.1f} MiB, sha256 {digest})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
