"""Progress of inference: frames done overall and per process, while the run goes on."""

import time
from typing import List, Optional

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook

from smplestx.datasets.samplers.inference_sampler import balance_units
from smplestx.registry import HOOKS

_KEY = 'smplestx_inference_progress/{}'


def _default_store():
    """The process group's key-value store, or ``None`` (single process, or unavailable)."""
    try:
        import torch.distributed as dist
        from torch.distributed.distributed_c10d import _get_default_store

        return _get_default_store() if dist.is_available() and dist.is_initialized() else None
    except (ImportError, RuntimeError, ValueError):
        return None


@HOOKS.register_module()
class InferenceProgressHook(Hook):
    """Progress bars of :class:`~smplestx.engine.InferenceLoop` on rank 0's stderr.

    One bar counts the frames of all processes against the frames the run expects, and
    with several processes one bar per process follows. Every process adds the frames of
    each clip to a counter in the process group's key-value store (no collective call, so
    processes never wait for each other); rank 0 reads the counters at most every
    ``interval_s`` seconds. Other processes draw nothing.

    Args:
        enabled: Draw the bars (otherwise the hook does nothing).
        interval_s: Seconds between refreshes of the bars.
    """

    priority = 'VERY_LOW'

    def __init__(self, enabled: bool = True, interval_s: float = 0.5) -> None:
        self.enabled = enabled
        self.interval_s = interval_s
        self._progress = None
        self._tasks: List[int] = []
        self._store = None
        self._done = 0
        self._last = 0.0

    def before_test(self, runner) -> None:
        """Start the bars (rank 0) with every process's expected frames."""
        if not self.enabled:
            return
        rank, world = get_dist_info()
        self._rank, self._world = rank, world
        self._store = _default_store() if world > 1 else None
        if rank != 0:
            return
        dataset = runner.test_loop.dataloader.dataset
        weights = dataset.unit_weights()
        totals = [sum(weights[u] for u in units) for units in balance_units(weights, world)]
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(TextColumn('{task.description}'), BarColumn(),
                                  MofNCompleteColumn(), TextColumn('frames'),
                                  TimeElapsedColumn(), TimeRemainingColumn(),
                                  console=Console(stderr=True))
        self._progress.start()
        self._tasks = [self._progress.add_task('all processes', total=sum(totals))]
        if world > 1:
            self._tasks += [self._progress.add_task(f'  process {r}', total=t)
                            for r, t in enumerate(totals)]

    def after_test_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                        outputs=None) -> None:
        """Count the clip's frames; refresh the bars now and then."""
        if not self.enabled or data_batch is None:
            return
        count = len(data_batch['frames'])
        self._done += count
        if self._store is not None and count:
            self._store.add(_KEY.format(self._rank), count)
        if self._progress is not None and time.monotonic() - self._last >= self.interval_s:
            self._refresh()

    def _refresh(self) -> None:
        self._last = time.monotonic()
        if self._store is None:
            counts = [self._done]
        else:
            counts = [self._store.add(_KEY.format(r), 0) for r in range(self._world)]
        self._progress.update(self._tasks[0], completed=sum(counts))
        for task, count in zip(self._tasks[1:], counts):
            self._progress.update(task, completed=count)

    def after_test(self, runner) -> None:
        """Stop the bars (after a last refresh)."""
        if self._progress is not None:
            self._refresh()
            self._progress.stop()
            self._progress = None
