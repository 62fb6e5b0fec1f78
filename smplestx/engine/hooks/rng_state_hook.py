"""RNG states in checkpoints: a resumed run draws the random numbers of the interrupted one."""

import functools
import logging
import random
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log

from smplestx.registry import HOOKS

CHECKPOINT_KEY = 'rng_state'


def get_rng_state() -> Dict[str, Any]:
    """This process's global RNG states in a ``torch.load(weights_only=True)``-safe form.

    Returns:
        ``python`` (``version``, ``state`` int64 tensor, ``gauss_next``), ``numpy``
        (``keys`` int64 tensor of the MT19937 key, ``pos``, ``has_gauss``,
        ``cached_gaussian``), ``torch`` (the CPU generator's uint8 state) and ``cuda`` (one
        state per device; empty while CUDA is not initialised).
    """
    version, py_state, gauss_next = random.getstate()
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    cuda = []
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = [state.cpu() for state in torch.cuda.get_rng_state_all()]
    return dict(
        python=dict(version=int(version), state=torch.tensor(py_state, dtype=torch.int64),
                    gauss_next=gauss_next),
        numpy=dict(keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state(),
        cuda=cuda)


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore the states of :func:`get_rng_state` (tensors may be on any device).

    CUDA states are restored when CUDA is available with as many devices as were saved.

    Raises:
        ValueError: If ``state`` lacks one of the keys written by :func:`get_rng_state`.
    """
    missing = {'python', 'numpy', 'torch', 'cuda'} - set(state)
    if missing:
        raise ValueError(f'RNG state is missing {sorted(missing)}')
    py = state['python']
    random.setstate((py['version'], tuple(py['state'].tolist()), py['gauss_next']))
    npy = state['numpy']
    np.random.set_state(('MT19937', npy['keys'].cpu().numpy().astype(np.uint32), npy['pos'],
                         npy['has_gauss'], npy['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state['cuda']
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
    elif cuda:
        print_log(f'RNG state of {len(cuda)} CUDA device(s) not restored: '
                  f'{torch.cuda.device_count()} available', 'current', logging.WARNING)


def _samplers(loader: Any) -> List[Any]:
    """The index samplers of ``loader`` with a ``seed`` attribute."""
    found = []
    for sampler in (getattr(getattr(loader, 'batch_sampler', None), 'sampler', None),
                    getattr(loader, 'sampler', None)):
        if sampler is not None and hasattr(sampler, 'seed') and sampler not in found:
            found.append(sampler)
    return found


def _data_seeds(loader: Any) -> Dict[str, Optional[int]]:
    """The seeds of the sampler and of MMEngine's ``worker_init_fn`` (``None`` if absent)."""
    samplers = _samplers(loader)
    init_fn = getattr(loader, 'worker_init_fn', None)
    worker_seed = None
    if isinstance(init_fn, functools.partial) and 'seed' in init_fn.keywords:
        worker_seed = init_fn.keywords['seed']
    return dict(sampler=None if not samplers else samplers[0].seed, worker=worker_seed)


def _set_data_seeds(loader: Any, seeds: Dict[str, Optional[int]]) -> None:
    """Give ``loader``'s sampler and worker initialisation the seeds of :func:`_data_seeds`."""
    if seeds.get('sampler') is not None:
        for sampler in _samplers(loader):
            sampler.seed = seeds['sampler']
    init_fn = getattr(loader, 'worker_init_fn', None)
    if (seeds.get('worker') is not None and isinstance(init_fn, functools.partial)
            and 'seed' in init_fn.keywords):
        loader.worker_init_fn = functools.partial(
            init_fn.func, *init_fn.args, **{**init_fn.keywords, 'seed': seeds['worker']})


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the RNG states in every checkpoint and restore them on resume.

    Checkpoints get a ``rng_state`` entry: the python ``random``, numpy-global, torch-CPU
    and CUDA states of every process (tensors, ints and floats only, so it loads with
    ``torch.load(weights_only=True)``) and the seeds of the training sampler and of the
    dataloader workers. With :class:`~smplestx.engine.SMPLestXRunner` the states of all
    processes of a distributed run are gathered (each process restores its own);
    another runner stores the master's only, and a distributed resume restores none.

    On resume (not on ``load_from``) they are restored in ``before_train``, after the other
    hooks, and :class:`~smplestx.engine.ResumableEpochBasedTrainLoop` draws nothing before
    the first batch, so the training continues with the random numbers of the interrupted
    run. Validation runs with a copy of the states (restored in ``after_val``): it does not
    shift the training's random numbers, and a run resumed from an epoch checkpoint (which
    skips that epoch's validation) matches one that validated.

    What is reproduced exactly: everything drawn in the training processes, and the data
    augmentation of :class:`~smplestx.datasets.transforms.RandomSMPLXAugment` with any number
    of dataloader workers, persistent or not, from any checkpoint (also mid-epoch): the
    samplers of :mod:`smplestx.datasets.samplers` (``SeededDefaultSampler``,
    ``SeededInfiniteSampler`` and ``MixedDatasetSampler``) attach to every index a seed
    derived from the sampler seed (restored here), the epoch and the sample's position, and
    the augmentation (and ``HumanDataset``'s choice of a replacement for a dropped sample)
    draws from it, not from the worker. What workers draw from their global RNGs (a
    transform without such a seed, a refetch in another dataset class, anything behind a
    sampler that gives plain indices, e.g. MMEngine's ``DefaultSampler``) is reseeded
    alike by MMEngine's ``worker_init_fn`` whenever workers start: it is reproduced with
    ``num_workers=0``, and with workers only by a resume at an epoch boundary with
    ``persistent_workers=False``.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._resumed: Optional[Dict[str, Any]] = None
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Write the states of all processes and the data seeds into ``checkpoint``."""
        ranks = getattr(runner, 'gathered_rng_states', None) or [get_rng_state()]
        checkpoint[CHECKPOINT_KEY] = dict(
            ranks=ranks, data_seeds=_data_seeds(runner.train_dataloader))

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        """Keep the saved states when resuming (they are restored in ``before_train``)."""
        if not getattr(runner, '_resume', False):
            return
        self._resumed = checkpoint.get(CHECKPOINT_KEY)
        if self._resumed is None:
            print_log('the checkpoint has no RNG state (saved without RNGStateHook): the '
                      'resumed run draws other random numbers', 'current', logging.WARNING)

    def before_train(self, runner: Any) -> None:
        """Restore this process's RNG states and the data seeds of the resumed checkpoint."""
        saved, self._resumed = self._resumed, None
        if saved is None:
            return
        _set_data_seeds(runner.train_dataloader, saved.get('data_seeds', {}))
        rank, world_size = get_dist_info()
        ranks = saved['ranks']
        if len(ranks) == world_size:
            set_rng_state(ranks[rank])
        else:
            print_log(f'RNG states not restored: the checkpoint holds those of {len(ranks)} '
                      f'process(es), this run has {world_size}', 'current', logging.WARNING)

    def before_val(self, runner: Any) -> None:
        """Remember the RNG states before validation."""
        self._before_val = get_rng_state()

    def after_val(self, runner: Any) -> None:
        """Put the RNG states back as they were before validation."""
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
