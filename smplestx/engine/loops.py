"""Training loop that resumes exactly where a checkpoint left off, also mid-epoch."""

import itertools
from typing import Iterable, Iterator, List

import torch
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader, Sampler

from smplestx.registry import LOOPS


class SkipBatchSampler(Sampler):
    """Yield the batches of ``batch_sampler`` after the first ``num_skip``.

    Only indices are generated for the skipped batches; no data is loaded.

    Args:
        batch_sampler: The dataloader's batch sampler (already seeded for the epoch).
        num_skip: Batches to leave out at the start.
    """

    def __init__(self, batch_sampler: Iterable[List[int]], num_skip: int) -> None:
        self.batch_sampler = batch_sampler
        self.num_skip = num_skip

    def __iter__(self) -> Iterator[List[int]]:
        return itertools.islice(iter(self.batch_sampler), self.num_skip, None)

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.num_skip, 0)


def skip_batches(loader: DataLoader, num_skip: int) -> DataLoader:
    """A one-epoch copy of ``loader`` that starts after ``num_skip`` batches.

    Args:
        loader: A map-style ``DataLoader`` with a batch sampler.
        num_skip: Batches to leave out.

    Returns:
        A new ``DataLoader`` over the same dataset, sampler order, collate function and
        worker set-up (workers are not persistent: it lives for one epoch). Without a
        ``generator`` of ``loader`` it gets its own, so that starting it draws nothing from
        torch's global RNG (the interrupted run drew its epoch's seed at the epoch start).
    """
    workers = loader.num_workers
    generator = loader.generator if loader.generator is not None else torch.Generator()
    return DataLoader(
        loader.dataset,
        batch_sampler=SkipBatchSampler(loader.batch_sampler, num_skip),
        num_workers=workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context if workers else None,
        generator=generator,
        prefetch_factor=loader.prefetch_factor if workers else None,
        persistent_workers=False,
        pin_memory_device=loader.pin_memory_device)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes mid-epoch without repeating or losing data.

    MMEngine's loop restarts the interrupted epoch from its first batch, so a checkpoint
    saved every N iterations repeats data and runs past ``max_iters`` (the learning
    rate schedule overshoots). Here the position in the epoch is
    ``iter - epoch * len(dataloader)`` (both are in every checkpoint's ``meta``); the
    epoch's sampler order is recomputed from the seed and the epoch, and the batches
    already trained are skipped without loading them. ``batch_idx`` passed to hooks is
    the true index in the epoch.

    Resuming needs the same number of processes and batch size as the interrupted run,
    which is checked. Nothing is drawn from the global RNGs between the start of the
    resumed epoch and its first batch, so with the RNG states of the checkpoint restored
    (:class:`~smplestx.engine.hooks.RNGStateHook`) the random augmentation continues as in
    the interrupted run. Arguments are those of ``EpochBasedTrainLoop``.
    """

    def batches_done_in_epoch(self) -> int:
        """Batches of the current epoch already trained (0 at an epoch boundary).

        All of them when an iteration checkpoint was written after the epoch's last
        batch: the epoch then only runs its ``after_train_epoch`` hooks.

        Raises:
            RuntimeError: If ``iter`` and ``epoch`` do not fit this dataloader's length.
        """
        per_epoch = len(self.dataloader)
        done = self._iter - self._epoch * per_epoch
        if not 0 <= done <= per_epoch:
            raise RuntimeError(
                f'cannot resume: iteration {self._iter} at epoch {self._epoch} does not fit '
                f'{per_epoch} batches per epoch; resume with the number of processes and '
                f'the batch size of the interrupted run')
        return done

    def run_epoch(self) -> None:
        """Iterate over the rest of the current epoch."""
        start = self.batches_done_in_epoch()
        if start == 0:
            super().run_epoch()
            return
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        if start < len(self.dataloader):
            for idx, data_batch in enumerate(skip_batches(self.dataloader, start), start):
                self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
