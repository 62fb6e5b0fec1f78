"""The smplestx Runner: MMEngine's Runner with safe checkpoint loading and CPU DDP."""

import datetime
import logging
import os
import os.path as osp
import re
import subprocess
from typing import Any, Callable, Dict, List, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import all_gather_object, is_distributed, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from smplestx.engine.hooks.rng_state_hook import RNGStateHook, get_rng_state
from smplestx.engine.resume import find_resume_checkpoint
from smplestx.models.utils.checkpoint_conversion import check_torch_file, load_torch_file
from smplestx.models.utils.precision import apply_precision, resolve_precision
from smplestx.registry import RUNNERS
from smplestx.utils.checkpoint import mmengine_safe_globals
from smplestx.utils.io import atomic_path

#: Temporary names of checkpoints being written (see ``smplestx.utils.io.atomic_path``).
#: The hidden temporary file of an atomic checkpoint save (``.<name>.pth.<random>.pth``, see
#: :func:`~smplestx.utils.io.atomic_path`) that a killed run left: any checkpoint name
#: (``epoch_N``, ``iter_N``, ``best_*``, a custom ``filename_tmpl``).
_PARTIAL_CHECKPOINT = re.compile(r'^\..+\.pth\.[A-Za-z0-9_]+\.pth$')


class CheckpointSaveError(OSError):
    """A training checkpoint could not be written (disk full, permissions...)."""


def cpu_dist_env(launcher: str) -> None:
    """Fill the ``env://`` variables (RANK, WORLD_SIZE, ...) for ``launcher``.

    torchrun sets them itself; under Slurm they are derived from ``SLURM_*`` as MMEngine
    does (``MASTER_PORT`` defaults to 29500).

    Raises:
        ValueError: For a launcher other than ``pytorch`` or ``slurm``.
    """
    if launcher == 'pytorch':
        return
    if launcher != 'slurm':
        raise ValueError(f"CPU-only distributed training supports the 'pytorch' (torchrun) and "
                         f"'slurm' launchers, got {launcher!r}")
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def init_cpu_process_group(launcher: str, dist_cfg: Optional[Dict] = None) -> None:
    """Start a gloo process group without touching CUDA.

    MMEngine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails on a
    machine without GPUs; this is the CPU counterpart. A configured ``nccl`` backend
    is replaced by ``gloo`` (the only CPU backend); other keys (``timeout`` in seconds)
    are passed on.

    Args:
        launcher: ``'pytorch'`` or ``'slurm'``.
        dist_cfg: ``env_cfg.dist_cfg`` of the config.
    """
    kwargs = dict(dist_cfg or {})
    kwargs.pop('backend', None)
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    cpu_dist_env(launcher)
    torch_dist.init_process_group(backend='gloo', **kwargs)


@RUNNERS.register_module()
class SMPLestXRunner(Runner):
    """MMEngine ``Runner`` whose checkpoint loading works on torch >= 2.6 and on CPUs.

    ``load_checkpoint`` (used by ``load_from`` and ``resume``) runs under
    :func:`smplestx.utils.checkpoint.mmengine_safe_globals`, so MMEngine's own
    checkpoints load with ``weights_only=True`` and nothing else is unpickled.

    Without CUDA, a distributed launch (``--launcher pytorch|slurm``) starts a ``gloo``
    process group (whatever ``env_cfg.dist_cfg.backend`` says) and wraps the model in
    CPU DDP, so the same config runs on GPUs and on CPU-only machines.
    Select it with ``runner_type = 'SMPLestXRunner'`` (set in the default runtime). The
    demo runs on it too (:class:`~smplestx.engine.InferenceLoop`).

    With an :class:`~smplestx.engine.hooks.RNGStateHook`, ``save_checkpoint`` first gathers
    the RNG states of all processes, so the master's checkpoint holds every one of them.

    Checkpoints are written atomically (a hidden temporary file in the same folder, flushed
    to disk, then renamed), so ``epoch_N.pth`` and ``last_checkpoint`` only ever name whole
    files; a failed write (e.g. a full disk) raises :class:`CheckpointSaveError` naming the
    file. ``resume=True`` without a file resumes from the newest whole checkpoint of the
    work dir (see :func:`~smplestx.engine.resume.find_resume_checkpoint`) and says plainly
    when there is none. Parameter schedulers whose explicit ``end`` disagrees with the
    training length get a warning (omit ``end``/``T_max`` to follow ``train_cfg``), and so
    do resumed schedulers (MMEngine restores their lengths from the checkpoint) when the
    training is now longer or shorter.
    """

    #: RNG states of all processes while a checkpoint is being saved (else ``None``).
    gathered_rng_states: Optional[List[Dict[str, Any]]] = None

    def setup_env(self, env_cfg: Dict) -> None:
        """Set up the environment; start a gloo process group when there is no GPU."""
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, env_cfg.get('dist_cfg'))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> Union[DistributedDataParallel, nn.Module]:
        """Wrap the model for DDP; on CPUs DDP gets ``device_ids=None``.

        A config key ``device`` (set by the demo) puts the model on that device and leaves
        it unwrapped, also in a distributed run: every process then runs its own copy, with
        nothing to synchronise (inference), where MMEngine would move it to the first GPU
        and wrap it for DDP.
        """
        device = self.cfg.get('device')
        if device is not None and not is_model_wrapper(model):
            return model.to(device)
        if self.distributed and not torch.cuda.is_available() and not is_model_wrapper(model):
            model_wrapper_cfg = dict(model_wrapper_cfg or dict(
                type='MMDistributedDataParallel', broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters', False)))
            model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
            wrapper = MODEL_WRAPPERS.get(model_wrapper_cfg['type'])
            if isinstance(wrapper, type) and issubclass(wrapper, DistributedDataParallel):
                model_wrapper_cfg.setdefault('device_ids', None)
        return super().wrap_model(model_wrapper_cfg, model)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """MMEngine's ``save_checkpoint`` (the master writes), atomic, with all RNG states.

        In a distributed run with an ``RNGStateHook`` every process must call it, as
        MMEngine's ``CheckpointHook`` does: the states are gathered collectively first.
        Arguments are those of ``Runner.save_checkpoint``.

        Raises:
            CheckpointSaveError: If the file cannot be written; nothing is left at its path.
        """
        if is_distributed() and any(isinstance(h, RNGStateHook) for h in self.hooks):
            self.gathered_rng_states = all_gather_object(get_rng_state())
        try:
            file_client_args = args[0] if args else kwargs.get('file_client_args')
            remote = '://' in str(out_dir) or bool(file_client_args or
                                                    kwargs.get('backend_args'))
            if remote or not is_main_process():
                super().save_checkpoint(out_dir, filename, *args, **kwargs)
            else:
                self._save_checkpoint_atomically(out_dir, filename, *args, **kwargs)
        finally:
            self.gathered_rng_states = None

    def _save_checkpoint_atomically(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        final = osp.join(out_dir, filename)
        for name in os.listdir(out_dir) if osp.isdir(out_dir) else ():
            if _PARTIAL_CHECKPOINT.match(name):  # left by a run killed while saving
                os.remove(osp.join(out_dir, name))
                self.logger.info(f'removed the partial checkpoint {name} of an interrupted save')
        try:
            with atomic_path(final) as tmp:
                super().save_checkpoint(osp.dirname(tmp), osp.basename(tmp), *args, **kwargs)
        except OSError as err:
            raise CheckpointSaveError(
                f'could not save checkpoint {final}: {err.strerror or err}; nothing was '
                f'written there and the earlier checkpoints are intact') from err

    def load_or_resume(self) -> None:
        """Load ``load_from`` or resume, then apply the test precision, if any.

        Auto-resume picks the newest whole checkpoint (and says plainly when there is none).
        """
        if not self._has_loaded and self._resume and self._load_from is None:
            found = find_resume_checkpoint(self.work_dir, self.logger)
            if found is None:
                self.logger.warning(f'no checkpoint to resume in {self.work_dir}; starting '
                                    f'from scratch')
                self._resume = False
            else:
                self.logger.info(f'resuming from {found}')
                self._load_from = found
        super().load_or_resume()
        if self._resume:
            self._warn_about_resumed_schedule()
        choice = getattr(self, '_test_precision', None)
        if choice is not None and choice.name != 'fp32':
            model = self.model.module if is_model_wrapper(self.model) else self.model
            apply_precision(model, choice)
            self.logger.info(f'testing in {choice.describe()}')

    def _warn_about_resumed_schedule(self) -> None:
        """Warn when the resumed schedulers end before or after the training now does.

        MMEngine restores every scheduler's state, ``end`` and ``T_max`` included, so a run
        resumed with a larger ``max_epochs`` keeps the old schedule (the learning rate then
        stays at its final value), silently.
        """
        schedulers = self.param_schedulers
        groups = schedulers.values() if isinstance(schedulers, dict) else [schedulers]
        for group in groups:
            built = [s for s in group or [] if isinstance(s, _ParamScheduler)]
            for line in schedule_length_warnings(built, self.max_epochs, self.max_iters,
                                                 RESUMED_SCHEDULE):
                self.logger.warning(f'resumed from {self._load_from}: {line}')

    def build_param_scheduler(self, scheduler: Any) -> Any:
        """Build the schedulers and warn when one's explicit length disagrees with training."""
        built = super().build_param_scheduler(scheduler)
        groups = built.values() if isinstance(built, dict) else [built]
        for schedulers in groups:
            for line in schedule_length_warnings(schedulers or [], self.max_epochs,
                                                 self.max_iters):
                self.logger.warning(line)
        return built

    def test(self) -> dict:
        """Run the test loop in the config's ``precision`` (``'fp32'`` when absent).

        The model is converted once, after the checkpoint is loaded (see
        :mod:`smplestx.models.utils.precision`); training and its validation stay fp32.
        """
        model = self.model.module if is_model_wrapper(self.model) else self.model
        device = next(model.parameters()).device
        self._test_precision = resolve_precision(self.cfg.get('precision'), device)
        try:
            return super().test()
        finally:
            self._test_precision = None

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:  # noqa: B006
        """Load a checkpoint with the safe-globals allowlist (see the class doc).

        A local file is memory-mapped (:func:`load_torch_file`), so the parts the model
        does not take (e.g. the optimizer state of an official checkpoint) are never read
        into memory; other locations go through MMEngine's loaders. A local file that is
        not a torch checkpoint at all (e.g. a truncated download) raises
        :class:`CheckpointFormatError` naming it.
        """
        if '://' in filename or map_location != 'cpu':
            if '://' not in filename:
                check_torch_file(filename)
            with mmengine_safe_globals(filename):
                return super().load_checkpoint(
                    filename, map_location=map_location, strict=strict,
                    revise_keys=revise_keys)
        checkpoint = load_torch_file(filename, mmap=True, mmengine_globals=True)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict,
                                               revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename} (memory-mapped)')
        return checkpoint


#: How to make a scheduler follow the training length, said with a warning.
FOLLOW_TRAIN_CFG = 'omit its end/T_max to follow train_cfg'
#: The same for a resumed run, whose schedulers keep the checkpoint's lengths.
RESUMED_SCHEDULE = ('the resumed schedulers keep the lengths saved in the checkpoint; to '
                    'train longer on a new schedule, start from its weights instead '
                    '(load_from=CHECKPOINT, resume=False)')


def release_runner(runner: Runner) -> None:
    """Close a finished run's log file and forget its named MMEngine instances.

    MMEngine registers each run's logger, message hub and visualizer by the experiment
    name, ``<config>_<timestamp>`` to the second, in class-level tables: a process that
    runs several Runners (tests, the web demo) keeps every one of them, and a second run
    started within the same second silently reuses the first one's logger, whose stream
    may be closed by then (its log lines are lost). MMEngine has no public way to drop an
    instance, so this removes them from those tables.
    """
    from mmengine.logging import MessageHub, MMLogger

    for handler in list(runner.logger.handlers):  # no open log file per run
        if isinstance(handler, logging.FileHandler):
            handler.close()
            runner.logger.removeHandler(handler)
    visualizer = runner.visualizer
    visualizer.close()
    for manager, name in ((MMLogger, runner.logger.instance_name),
                          (MessageHub, runner.message_hub.instance_name),
                          (type(visualizer), visualizer.instance_name)):
        manager._instance_dict.pop(name, None)


def schedule_length_warnings(schedulers: List[Any], max_epochs: int, max_iters: int,
                             advice: str = FOLLOW_TRAIN_CFG) -> List[str]:
    """Describe built parameter schedulers whose ``end`` does not match the training length.

    A scheduler that ends after the last step is cut short; when every scheduler ends
    before it, the parameter stays at its final value for the remaining steps. Both are
    usually a schedule written for another ``train_cfg.max_epochs`` (schedulers without an
    explicit ``end`` follow the train loop and never warn).

    Args:
        schedulers: Built MMEngine parameter schedulers (``begin``/``end`` in steps).
        max_epochs: Training epochs (for epoch-based schedulers).
        max_iters: Training iterations (for iteration-based ones).
        advice: What to do about it, appended to each line.

    Returns:
        One line per problem (empty when the schedule covers training exactly).
    """
    lines = []
    covered = []  # share of the training each finite scheduler covers
    for index, sched in enumerate(schedulers):
        end, by_epoch = getattr(sched, 'end', INF), getattr(sched, 'by_epoch', True)
        total, unit = (max_epochs, 'epoch') if by_epoch else (max_iters, 'iteration')
        if end >= INF or not total:
            covered.append(None)
            continue
        covered.append((end / total, end, total, unit))
        if end > total:
            lines.append(f'param_scheduler[{index}] ({type(sched).__name__}) ends at {unit} '
                         f'{end} but training stops at {total}: its schedule is cut short '
                         f'({advice})')
    if covered and None not in covered and max(covered)[0] < 1:
        _, end, total, unit = max(covered)
        lines.append(f'every param_scheduler ends by {unit} {end} of {total}: the parameter '
                     f'stays at its final value for the rest of training ({advice})')
    return lines
