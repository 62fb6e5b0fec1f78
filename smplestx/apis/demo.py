"""What the demo runs with: model files (with a stand-in fallback) and the model.

:func:`~smplestx.apis.demo_runner.run_demo` runs the demo with them; ``tools/demo.py``
only parses arguments.

When the released checkpoint or the SMPL-X files are absent, the demo says so in one
line and still runs end to end: without weights it builds the tiny config with seeded
random weights (readouts set to a neutral, upright pose so that placeholder meshes sit in
their boxes), and without SMPL-X it generates a stand-in body model into a cache folder.
Such outputs exercise every file the demo writes but are not estimates.
"""

import dataclasses
import os
import os.path as osp
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from smplestx.apis.inference import body_model_dirs, init_model, load_config
from smplestx.apis.inferencers import SMPLestXInferencer
from smplestx.utils.body_model_files import (
    BodyModelFilesError,
    require_body_model_files,
    resolve_body_model_dir,
)
from smplestx.utils.standin_body_model import ensure_standin_body_model

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: Config of the released SMPLest-X-H model.
DEFAULT_CONFIG = 'configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py'
#: Tiny config used (with random weights) when no checkpoint is available.
TINY_CONFIG = 'configs/smplestx/smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
#: Where the demo looks for the released weights (converted or official), in order.
DEFAULT_CHECKPOINTS = ('checkpoints/smplestx_vit-h_3rdparty.pth',
                       'checkpoints/smplest_x_h.pth.tar',
                       'pretrained_models/smplest_x_h/smplest_x_h.pth.tar')
#: The SMPL-X file the model needs.
REQUIRED_BODY_FILES = ('smplx/SMPLX_NEUTRAL.npz', )


@dataclasses.dataclass
class DemoSetup:
    """What the demo runs with.

    Attributes:
        config: Config file.
        checkpoint: Weights, or ``None`` for seeded random weights.
        body_model_dir: SMPL-X folder, or ``None`` to use the config/environment.
        standin: ``body_model_dir`` is a generated stand-in.
        notice: One line describing any fallback, or ``None``.
    """

    config: str
    checkpoint: Optional[str]
    body_model_dir: Optional[str]
    standin: bool = False
    notice: Optional[str] = None

    @property
    def placeholder(self) -> bool:
        """Whether outputs are placeholders (random weights)."""
        return self.checkpoint is None


def _find(path: str) -> Optional[str]:
    """``path`` as given, or relative to the package's repository root."""
    for candidate in (path, osp.join(PACKAGE_ROOT, path)):
        if osp.isfile(candidate):
            return candidate
    return None


def _body_model_available(config: str, body_model_dir: Optional[str]) -> Optional[str]:
    """The SMPL-X folder the model would use, or ``None`` if it is missing or incomplete."""
    dirs = [body_model_dir] if body_model_dir else (body_model_dirs(load_config(config)) or
                                                    [None])
    try:
        for folder in dirs:
            root = resolve_body_model_dir(folder)
            require_body_model_files(root, REQUIRED_BODY_FILES)
    except BodyModelFilesError:
        return None
    return root


def resolve_demo_setup(config: Optional[str] = None, checkpoint: Optional[str] = None,
                       body_model_dir: Optional[str] = None,
                       standin_dir: Optional[str] = None) -> DemoSetup:
    """Pick the config, weights and body model, falling back to placeholders when absent.

    Explicitly given files must exist. Without ``checkpoint``, the default locations
    (:data:`DEFAULT_CHECKPOINTS`) are tried; if none exists, ``config`` (or the tiny config)
    runs with seeded random weights. Without usable SMPL-X files (``body_model_dir``, the
    config's ``body_model_dir`` or ``$SMPLESTX_BODY_MODELS``), a stand-in body model is
    generated into ``standin_dir`` (a cache folder by default).

    Args:
        config: Config file; the SMPLest-X-H config by default.
        checkpoint: Weights file.
        body_model_dir: SMPL-X folder.
        standin_dir: Where to generate the stand-in body model.

    Returns:
        The setup, with ``notice`` set when anything was substituted.

    Raises:
        FileNotFoundError: If an explicitly given file or folder does not exist.
    """
    problems, fallbacks = [], []
    if config is not None and _find(config) is None:
        raise FileNotFoundError(f'config file {config} does not exist')
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
        config = _find(config or DEFAULT_CONFIG)
    else:
        found = next((c for c in map(_find, DEFAULT_CHECKPOINTS) if c), None)
        if found is not None:
            checkpoint, config = found, _find(config or DEFAULT_CONFIG)
        else:
            config = _find(config or TINY_CONFIG)
            problems.append(f'no released checkpoint (looked for {DEFAULT_CHECKPOINTS[0]})')
            fallbacks.append(f'{osp.basename(config)} with seeded random weights')
    if config is None:
        raise FileNotFoundError(f'config file {DEFAULT_CONFIG} not found; pass --config')
    if body_model_dir is not None and not osp.isdir(body_model_dir):
        raise FileNotFoundError(f'body model folder {body_model_dir} does not exist')
    standin = False
    root = _body_model_available(config, body_model_dir)
    if root is None and body_model_dir is not None:
        require_body_model_files(body_model_dir, REQUIRED_BODY_FILES)
    if root is None:
        root = os.fspath(ensure_standin_body_model(standin_dir))
        standin = True
        problems.append('no SMPL-X files (set SMPLESTX_BODY_MODELS)')
        fallbacks.append(f'a generated stand-in body model in {root}')
    notice = None
    if problems:
        notice = (f'notice: {" and ".join(problems)}: running {" on ".join(fallbacks)}; the '
                  f'outputs are placeholders, not estimates.')
    return DemoSetup(config, checkpoint, root, standin, notice)


def _rot6d_z(angle: float) -> tuple:
    """6D (row-major, interleaved first two columns) of a rotation about z."""
    c, s = float(np.cos(angle)), float(np.sin(angle))
    return (c, -s, s, c, 0.0, 0.0)


#: Placeholder camera: centred on the body and far enough for it to fill ~80% of the crop.
_PLACEHOLDER_CAM = (0.0, 0.45, 1.1)


def neutral_readouts(model: torch.nn.Module, scale: float = 0.01) -> None:
    """Make a randomly initialised model output a small variation of an upright A-pose.

    The readout weights are scaled by ``scale``; the biases give an upright root (180
    degrees about x: SMPL-X is y-up, the camera y-down), arms lowered at the shoulders,
    rest poses elsewhere, mean shape and expression, and a camera that frames the body in
    its box. Only for placeholder runs.
    """
    head = model.head
    identity = _rot6d_z(0.0)
    body = [identity] * 21
    body[15], body[16] = _rot6d_z(-1.1), _rot6d_z(1.1)  # left/right shoulder
    biases = {'dec_body_root_pose': [(1.0, 0.0, 0.0, -1.0, 0.0, 0.0)], 'dec_body_pose': body,
              'dec_hand_pose': [identity] * 30, 'dec_face_jaw_pose': [identity],
              'dec_body_shape': [(0.0, ) * 10], 'dec_face_expression': [(0.0, ) * 10],
              'dec_body_cam': [_PLACEHOLDER_CAM]}
    with torch.no_grad():
        for name, rows in biases.items():
            layer = getattr(head, name, None)
            if layer is None:
                continue
            layer.weight.mul_(scale)
            layer.bias.copy_(torch.tensor(rows, dtype=layer.bias.dtype).reshape(-1))


def build_model(setup: DemoSetup, device: Optional[str] = None, seed: int = 0,
                cfg_options: Optional[dict] = None,
                precision: Optional[str] = None) -> torch.nn.Module:
    """The model of a :class:`DemoSetup` (through :func:`~smplestx.apis.init_model`).

    Placeholder runs (no checkpoint) get seeded random weights with neutral readouts.
    ``precision`` is that of :func:`~smplestx.apis.init_model` (``None``: the config's).
    """
    cfg = load_config(setup.config, cfg_options)
    model = init_model(cfg, setup.checkpoint, device or 'cpu',
                       body_model_dir=setup.body_model_dir,
                       seed=None if setup.checkpoint else seed, precision=precision)
    if setup.placeholder:
        neutral_readouts(model)
    return model


def build_inferencer(setup: DemoSetup, device: Optional[str] = None, boxes=None,
                     seed: int = 0, cfg_options: Optional[dict] = None,
                     **kwargs) -> SMPLestXInferencer:
    """Build the inferencer of a :class:`DemoSetup` (placeholders get neutral readouts)."""
    cfg = load_config(setup.config, cfg_options)
    inferencer = SMPLestXInferencer(cfg, setup.checkpoint, device=device, boxes=boxes,
                                    body_model_dir=setup.body_model_dir, seed=seed, **kwargs)
    if setup.placeholder:
        neutral_readouts(inferencer.model)
    return inferencer
