"""Stand-ins of official SMPLest-X checkpoints: the real layout, random weights, Adam state.

The released ``smplest_x_h.pth.tar`` is ``{'epoch', 'network', 'optimizer'}`` with the
``module.encoder.*``/``module.decoder.*`` weights and Adam's ``exp_avg``/``exp_avg_sq`` for
every one of them (8.25 GB for 2.75 GB of weights). A stand-in has the same keys, shapes,
dtypes and optimizer state with random values, so loading can be measured without it.
"""

import os
import re
from collections import OrderedDict
from typing import Dict, Tuple, Union

import torch

from smplestx.utils.io import atomic_path

Shapes = 'OrderedDict[str, Tuple[int, ...]]'
_LISTING_LINE = re.compile(r'^(\S+)\t\[([\d, ]*)\]$')


def shapes_from_listing(path: Union[str, os.PathLike]) -> Shapes:
    """Read a ``name<TAB>[shape]`` listing (e.g. ``official_state_dict_vit_h_checkpoint.txt``).

    Raises:
        ValueError: Naming the file and line of a malformed entry.
    """
    shapes: OrderedDict = OrderedDict()
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line:
                continue
            match = _LISTING_LINE.match(line)
            if match is None:
                raise ValueError(f'{os.fspath(path)}:{number}: expected "name<TAB>[shape]", '
                                 f'got {line!r}')
            dims = match.group(2).replace(' ', '')
            shapes[match.group(1)] = tuple(int(d) for d in dims.split(',') if d)
    return shapes


def shapes_from_config(config: Union[str, os.PathLike]) -> Shapes:
    """The official checkpoint keys and shapes of a smplestx config's network.

    The model is built on the meta device without its body model and loss, and
    ``backbone.``/``head.`` are renamed to ``module.encoder.``/``module.decoder.``.
    """
    from smplestx.apis.inference import build_meta_network

    model = build_meta_network(os.fspath(config))
    renames = (('backbone.', 'module.encoder.'), ('head.', 'module.decoder.'))
    shapes: OrderedDict = OrderedDict()
    for key, value in model.state_dict().items():
        for ours, official in renames:
            if key.startswith(ours):
                shapes[official + key[len(ours):]] = tuple(value.shape)
    return shapes


def _random_weight(name: str, shape: Tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """Weights of the right scale: LayerNorm scales near 1, everything else N(0, 0.02)."""
    values = torch.randn(shape, generator=gen) * 0.02
    if re.search(r'norm\d*\.weight$', name):
        values += 1.0
    return values


def make_standin_checkpoint(path: Union[str, os.PathLike], shapes: Shapes, seed: int = 0,
                            adam: bool = True) -> Dict[str, int]:
    """Write an official-format checkpoint with random weights (and Adam state) atomically.

    Args:
        path: Output file (``.pth.tar``).
        shapes: Official key -> shape, e.g. from :func:`shapes_from_listing`.
        seed: Seed of the random values.
        adam: Add ``exp_avg``, ``exp_avg_sq`` and ``step`` for every weight, as a
            checkpoint written during training has (3x the size of the weights).

    Returns:
        ``num_tensors``, ``num_params`` and ``bytes`` (the file size).
    """
    gen = torch.Generator().manual_seed(seed)
    network = OrderedDict((name, _random_weight(name, shape, gen))
                          for name, shape in shapes.items())
    state = {}
    if adam:
        for index, value in enumerate(network.values()):
            # Moments of plausible size, derived from the weight (cheaper than new noise).
            state[index] = {
                'step': torch.tensor(1000.0),
                'exp_avg': value * 1e-3,
                'exp_avg_sq': value.square() * 1e-6,
            }
    optimizer = {'state': state, 'param_groups': [{
        'lr': 1e-05, 'betas': (0.9, 0.999), 'eps': 1e-08, 'weight_decay': 0, 'amsgrad': False,
        'maximize': False, 'foreach': None, 'capturable': False, 'differentiable': False,
        'fused': None, 'decoupled_weight_decay': False, 'initial_lr': 1e-05,
        'params': list(range(len(network)))}]}
    with atomic_path(path) as tmp:
        torch.save({'epoch': 0, 'network': network, 'optimizer': optimizer}, tmp)
    return dict(num_tensors=len(network),
                num_params=int(sum(v.numel() for v in network.values())),
                bytes=os.path.getsize(path))
