"""Periodic predicted-mesh overlays of training and validation samples."""

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from smplestx.registry import HOOKS
from smplestx.visualization.mesh_renderer import DEFAULT_COLOR, draw_keypoints, render_meshes


def crop_camera(body_model: nn.Module, crop_hw: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """The model's virtual camera (defined on the network input) scaled to the crop.

    Args:
        body_model: The head's ``SMPLXBodyModel`` (``focal``, ``princpt``,
            ``input_body_shape``).
        crop_hw: (H, W) of the crop the mesh is drawn on.

    Returns:
        ``focal`` and ``princpt`` (2,) in crop pixels.
    """
    body_h, body_w = body_model.input_body_shape
    scale = np.array([crop_hw[1] / body_w, crop_hw[0] / body_h])
    return np.asarray(body_model.focal, float) * scale, np.asarray(body_model.princpt,
                                                                  float) * scale


def crop_image(inputs: torch.Tensor) -> np.ndarray:
    """A (3, H, W) RGB crop in [0, 255] as an (H, W, 3) uint8 image."""
    return inputs.detach().float().clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


@HOOKS.register_module()
class SMPLXVisualizationHook(Hook):
    """Write predicted SMPL-X mesh overlays to the runner's visualizer backends.

    Every ``train_interval`` training iterations the first ``num_samples`` crops of the
    batch are predicted (one extra no-grad forward in eval mode on the main process)
    and drawn; during validation (and testing, if ``test_interval`` is set) the
    predictions of every ``val_interval``-th batch are drawn. The meshes are rendered
    over the 512x384 input crops with the model's crop camera, and the ground-truth
    2D keypoints are drawn on top when available. Images go to
    ``runner.visualizer.add_image`` and so to every configured backend
    (``LocalVisBackend`` files under ``<work_dir>/<timestamp>/vis_data/vis_image``,
    ``TensorboardVisBackend``, ...).

    Args:
        train_interval: Training iterations between drawings; 0 disables them.
        val_interval: Validation batches between drawings; 0 disables them.
        test_interval: Test batches between drawings; 0 (default) disables them.
        num_samples: Crops drawn per drawn batch.
        alpha: Opacity of the mesh.
        mesh_color: Mesh colour (RGB in [0, 1]).
        gt_keypoint_color: Colour of the ground-truth keypoints (RGB); ``None`` skips them.
    """

    priority = 'LOW'

    def __init__(self, train_interval: int = 1000, val_interval: int = 50,
                 test_interval: int = 0, num_samples: int = 2, alpha: float = 0.8,
                 mesh_color: Sequence[float] = DEFAULT_COLOR,
                 gt_keypoint_color: Optional[Tuple[int, int, int]] = (0, 255, 0)) -> None:
        for name, value in (('train_interval', train_interval), ('val_interval', val_interval),
                            ('test_interval', test_interval), ('num_samples', num_samples)):
            if int(value) != value or value < 0:
                raise ValueError(f'SMPLXVisualizationHook: {name} must be a non-negative '
                                 f'integer, got {value!r}')
        self.train_interval = int(train_interval)
        self.val_interval = int(val_interval)
        self.test_interval = int(test_interval)
        self.num_samples = int(num_samples)
        self.alpha = alpha
        self.mesh_color = tuple(float(c) for c in mesh_color)
        self.gt_keypoint_color = gt_keypoint_color

    # ------------------------------------------------------------------ hooks
    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                         outputs: Any = None) -> None:
        """Predict and draw a few crops of the current training batch."""
        if (not self.train_interval or not self.num_samples or data_batch is None
                or not self.every_n_train_iters(runner, self.train_interval)
                or not is_main_process()):
            return
        model = self._model(runner)
        count = min(self.num_samples, len(data_batch['inputs']))
        batch = dict(inputs=data_batch['inputs'][:count],
                     data_samples=data_batch['data_samples'][:count])
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(batch, False)
                samples = model(**data, mode='predict')
        finally:
            model.train(was_training)
        self._draw(runner, 'train', batch['inputs'], samples, runner.iter + 1)

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                       outputs: Optional[Sequence] = None) -> None:
        """Draw the predictions of every ``val_interval``-th validation batch."""
        if self.val_interval and self.every_n_inner_iters(batch_idx, self.val_interval):
            self._draw_predictions(runner, f'val_{batch_idx}', data_batch, outputs)

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Draw the predictions of every ``test_interval``-th test batch."""
        if self.test_interval and self.every_n_inner_iters(batch_idx, self.test_interval):
            self._draw_predictions(runner, f'test_{batch_idx}', data_batch, outputs)

    # ---------------------------------------------------------------- drawing
    @staticmethod
    def _model(runner: Any) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _draw_predictions(self, runner: Any, name: str, data_batch: Any,
                          outputs: Optional[Sequence]) -> None:
        if not self.num_samples or data_batch is None or not outputs or not is_main_process():
            return
        count = min(self.num_samples, len(outputs))
        self._draw(runner, name, data_batch['inputs'][:count], outputs[:count], runner.iter)

    def _draw(self, runner: Any, name: str, inputs: Sequence[torch.Tensor],
              samples: Sequence[Any], step: int) -> None:
        """Render each sample's predicted mesh over its crop and send it to the backends."""
        head = self._model(runner).head
        body_model = head.body_model
        faces = np.asarray(body_model.faces, dtype=np.int64)
        for i, (crop, sample) in enumerate(zip(inputs, samples)):
            image = crop_image(crop)
            focal, princpt = crop_camera(body_model, image.shape[:2])
            vertices = sample.pred_instances.vertices.detach().float().cpu().numpy()
            image = render_meshes(image, [(vertices.reshape(-1, 3), faces)], focal, princpt,
                                  colors=[self.mesh_color], alpha=self.alpha)
            image = self._draw_gt_keypoints(image, sample, body_model)
            runner.visualizer.add_image(f'{name}_sample{i}', image, step=step)

    def _draw_gt_keypoints(self, image: np.ndarray, sample: Any,
                           body_model: nn.Module) -> np.ndarray:
        """Overlay the ground-truth 2D keypoints (heatmap units -> crop pixels)."""
        gt = sample.get('gt_instances', None)
        if self.gt_keypoint_color is None or gt is None or 'joint_img' not in gt:
            return image
        hm_h, hm_w = body_model.output_hm_shape[-2:]
        joints = gt.joint_img.detach().float().cpu().numpy().reshape(-1, 3)[:, :2]
        joints = joints * np.array([image.shape[1] / hm_w, image.shape[0] / hm_h])
        visible = None
        if 'joint_valid' in gt:
            visible = gt.joint_valid.detach().cpu().numpy().reshape(-1) > 0
        return draw_keypoints(image, joints, self.gt_keypoint_color, radius=2,
                              visible=visible)
