"""Command-line plumbing shared by ``tools/train.py``, ``tools/test.py`` and the demo.

Each tool only parses its arguments; merging them into the config and building the
one Runner happens here so it can be unit-tested.
"""

import argparse
import os
import os.path as osp
import sys
from typing import Callable, Dict, Optional, Sequence, Tuple, Type

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from smplestx.registry import RUNNERS
from smplestx.utils.config_check import (
    ConfigError,
    check_cfg_options,
    check_config,
    read_config,
)
from smplestx.utils.io import OutputPathError, check_writable


class UsageError(ValueError):
    """A command-line argument that cannot work (the message says which and why)."""


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments every Runner-based tool takes."""
    parser.add_argument('--work-dir', help='folder for logs, checkpoints and results')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. train_cfg.max_iters=2 (merged last)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)


def add_video_camera_args(parser: argparse.ArgumentParser, prefix: str = '') -> None:
    """``--fov`` or ``--focal``: the video camera an animation's root trajectory is in.

    Args:
        parser: The tool's parser.
        prefix: Put before each help text (e.g. ``'animation: '``).
    """
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument('--fov', type=float, help=f'{prefix}horizontal field of view of the '
                        'video camera in degrees (default: focal = image diagonal, a 53.1 deg '
                        'diagonal field of view)')
    camera.add_argument('--focal', type=float,
                        help=f'{prefix}focal length of the video camera in pixels')


def video_camera_args(args: argparse.Namespace) -> Dict[str, float]:
    """The ``--fov``/``--focal`` given (:func:`add_video_camera_args`); empty when neither."""
    return {name: getattr(args, name) for name in ('fov', 'focal')
            if getattr(args, name) is not None}


def add_cwd_to_sys_path() -> None:
    """Make packages under the working directory importable (``projects.<name>.<pkg>``).

    ``python tools/train.py`` puts ``tools/`` on ``sys.path``, not the working directory.
    The tools run from the repository root, so appending it lets a config's
    ``custom_imports=dict(imports=['projects.<name>.<pkg>'])`` resolve, as under
    ``python -m``. Appending never shadows installed packages.
    """
    cwd = os.getcwd()
    if not any(osp.abspath(entry or os.curdir) == cwd for entry in sys.path):
        sys.path.append(cwd)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config file and merge ``--cfg-options`` into it.

    Its ``custom_imports`` may name packages under the working directory (see
    :func:`add_cwd_to_sys_path`).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    add_cwd_to_sys_path()
    cfg = read_config(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def _set_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])


def merge_train_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``tools/train.py`` arguments to ``cfg`` (``--cfg-options`` win)."""
    _set_work_dir(cfg, args)
    cfg.launcher = args.launcher
    if getattr(args, 'amp', False):
        optim_wrapper = cfg.optim_wrapper
        optim_wrapper.type = 'DeviceAmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume
    if args.cfg_options:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def merge_test_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``tools/test.py`` arguments to ``cfg`` (``--cfg-options`` win)."""
    _set_work_dir(cfg, args)
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    if getattr(args, 'precision', None):
        cfg.precision = args.precision
    if getattr(args, 'out', None):
        evaluator = cfg.test_evaluator
        dump = dict(type='DumpResults', out_file_path=args.out)
        if isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = [*evaluator, dump]
        elif 'metrics' in evaluator:
            evaluator.metrics = [*evaluator.metrics, dump]
        else:
            cfg.test_evaluator = [evaluator, dump]
    if args.cfg_options:
        check_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def check_before_run(cfg: Config, out_files: Sequence[str] = ()) -> None:
    """Check what can be checked before the Runner starts (and logs the config).

    Every part's keys (:func:`~smplestx.utils.config_check.check_config`), that the work
    dir and ``out_files`` can be written, and that ``load_from`` (a local file) will load
    into the model (:func:`~smplestx.apis.inference.check_checkpoint`). Errors are the
    one-line user errors of :func:`run_tool`.
    """
    from smplestx.apis.inference import check_checkpoint

    check_config(cfg)
    check_precision_key(cfg)
    check_writable(cfg.work_dir, folder=True)
    for path in out_files:
        check_writable(path)
    load_from = cfg.get('load_from')
    if load_from and '://' not in str(load_from):
        check_checkpoint(cfg, str(load_from))


def check_precision_key(cfg: Config) -> None:
    """Check the config's ``precision`` for the device the Runner will use.

    Raises:
        UsageError: For an unknown mode, or one the device cannot run (int8 on a GPU).
    """
    import torch

    from smplestx.models.utils.precision import resolve_precision

    precision = cfg.get('precision')
    if precision is None:
        return
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        resolve_precision(precision, device)
    except ValueError as err:
        raise UsageError(f'config key precision: {err}') from None


def shutdown_distributed() -> None:
    """Destroy the process group, if any, before the interpreter exits.

    Leaving a gloo group to the interpreter's teardown occasionally aborts a rank at exit
    ("terminate called without an active exception") after all work is done.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def build_runner(cfg: Config) -> Runner:
    """Build the one Runner every tool uses (``runner_type`` from the config)."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def user_errors() -> Tuple[Type[BaseException], ...]:
    """Exceptions whose message says everything: reported as one ``error:`` line.

    Missing files (config, checkpoint, SMPL-X folder, HumanData), unreadable or unknown
    config keys, checkpoints that are not checkpoints, damaged, of another model or
    holding objects that only full unpickling restores, malformed HumanData or body-model
    files, unwritable outputs (including a full disk while saving a checkpoint) and
    command-line arguments that cannot work.
    """
    from smplestx.datasets.utils.humandata_io import MalformedHumanDataError
    from smplestx.engine.runner import CheckpointSaveError
    from smplestx.models.body_models.assets import UnsafePickleError
    from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS
    from smplestx.utils.body_model_files import BodyModelFormatError

    return (*CHECKPOINT_ERRORS, ConfigError, UsageError, OutputPathError, CheckpointSaveError,
            MalformedHumanDataError, BodyModelFormatError, UnsafePickleError)


def error_line(err: BaseException) -> str:
    """The one-line ``error: ...`` report of a user error (whitespace runs joined)."""
    return 'error: ' + ' '.join(str(err).split())


def run_tool(main: Callable[[], object]) -> None:
    """Run a tool's ``main``; exit with one ``error:`` line (status 2) on a user error.

    User errors are listed by :func:`user_errors`; other exceptions keep their traceback.
    An integer returned by ``main`` is the exit status.
    """
    try:
        status = main()
    except user_errors() as err:
        print(error_line(err), file=sys.stderr)
        sys.exit(2)
    if isinstance(status, int) and not isinstance(status, bool):
        sys.exit(status)
