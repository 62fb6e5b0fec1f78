"""The smplestx Runner: MMEngine's Runner with safe checkpoint loading and CPU DDP."""

import datetime
import os
import subprocess
from typing import Any, Callable, Dict, List, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import all_gather_object, is_distributed
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from smplestx.engine.hooks.rng_state_hook import RNGStateHook, get_rng_state
from smplestx.models.utils.checkpoint_conversion import check_torch_file
from smplestx.registry import RUNNERS
from smplestx.utils.checkpoint import mmengine_safe_globals


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

    def save_checkpoint(self, *args, **kwargs) -> None:
        """MMEngine's ``save_checkpoint`` (the master writes), with all processes' RNG states.

        In a distributed run with an ``RNGStateHook`` every process must call it, as
        MMEngine's ``CheckpointHook`` does: the states are gathered collectively first.
        Arguments are those of ``Runner.save_checkpoint``.
        """
        if is_distributed() and any(isinstance(h, RNGStateHook) for h in self.hooks):
            self.gathered_rng_states = all_gather_object(get_rng_state())
        try:
            super().save_checkpoint(*args, **kwargs)
        finally:
            self.gathered_rng_states = None

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:  # noqa: B006
        """Load a checkpoint with the safe-globals allowlist (see the class doc).

        A local file that is not a torch checkpoint at all (e.g. a truncated download)
        raises :class:`CheckpointFormatError` naming it.
        """
        if '://' not in filename:
            check_torch_file(filename)
        with mmengine_safe_globals(filename):
            return super().load_checkpoint(
                filename, map_location=map_location, strict=strict,
                revise_keys=revise_keys)
