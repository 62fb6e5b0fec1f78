"""The Runner loop of inference: clips of frames in, predictions to the writer, per process."""

from typing import Any, Dict, List, Protocol, Sequence, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.runner.base_loop import BaseLoop
from torch.utils.data import DataLoader

from smplestx.registry import LOOPS


class Predictor(Protocol):
    """What :class:`InferenceLoop` needs from the per-frame logic.

    :class:`~smplestx.apis.frame_predictor.FramePredictor` is one.
    """

    def begin_unit(self, meta: Dict[str, Any]) -> None:
        """Start a unit (its input's description)."""

    def push(self, frame: Any) -> List[Any]:
        """Add a frame; return the frames now complete."""

    def end(self) -> List[Any]:
        """Finish the unit; return the remaining frames."""


@LOOPS.register_module()
class InferenceLoop(BaseLoop):
    """Runs a model over clips of frames and hands every predicted frame to the writer.

    The dataloader yields clips of a :class:`~smplestx.datasets.MediaDataset` with whole
    units per process (:class:`~smplestx.datasets.samplers.InferenceSampler`). At a unit's
    first clip the ``predictor`` starts a new sequence (people are batched within a unit
    only, so a unit's numbers do not depend on the process that runs it); each frame is
    pushed to it, and the frames it completes go to the evaluator's ``process`` with the
    clip as ``data_batch`` (its ``begin``/``end`` flags, ``failures``, ``input``). The
    metric is a writer such as
    :class:`~smplestx.evaluation.metrics.InferenceResultWriter`, which writes each unit's
    files from this process; only small summaries are gathered at the end
    (``evaluator.evaluate``). If anything raises, every metric with an ``abort`` method is
    told first, so that no half-written unit is left behind.

    Args:
        runner: The runner.
        dataloader: The clips (one clip per batch).
        evaluator: The writer(s).
        predictor: The per-frame logic (see :class:`Predictor`).
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, Sequence], predictor: Predictor) -> None:
        super().__init__(runner, dataloader)
        self.evaluator = (runner.build_evaluator(evaluator)
                          if isinstance(evaluator, (dict, list, tuple)) else evaluator)
        self.predictor = predictor

    def run(self) -> dict:
        """Run every clip of this process; returns the writer's metrics (all processes)."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        try:
            for idx, clip in enumerate(self.dataloader):
                self.run_iter(idx, clip)
        except BaseException:
            for metric in self.evaluator.metrics:
                abort = getattr(metric, 'abort', None)
                if abort is not None:
                    abort()
            raise
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, clip: Dict[str, Any]) -> None:
        """Predict the frames of one clip and hand the completed ones to the writer."""
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=clip)
        if clip['begin']:
            self.predictor.begin_unit(clip['input'])
        results: List[Any] = []
        for frame in clip['frames']:
            results.extend(self.predictor.push(frame))
        if clip['end']:
            results.extend(self.predictor.end())
        self.evaluator.process(data_samples=results, data_batch=clip)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=clip,
                              outputs=results)
