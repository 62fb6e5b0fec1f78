"""MMEngine visualizer that draws predicted SMPL-X meshes over images."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.visualization import Visualizer

from smplestx.registry import VISUALIZERS
from smplestx.utils.io import atomic_write_image
from smplestx.visualization.mesh_renderer import (
    DEFAULT_COLOR,
    draw_bbox,
    draw_keypoints,
    render_meshes,
)

Person = Union[Dict[str, Any], Any]


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _field(person: Person, key: str) -> Optional[np.ndarray]:
    if isinstance(person, dict):
        value = person.get(key)
    else:
        value = person.get(key) if hasattr(person, 'get') else getattr(person, key, None)
    return None if value is None else _numpy(value)


@VISUALIZERS.register_module()
class SMPLXVisualizer(Visualizer):
    """Draws SMPL-X meshes, boxes and 2D keypoints with the headless mesh renderer.

    Images are RGB (the MMEngine convention); colours are RGB too.

    Args:
        name: Instance name (MMEngine visualizers are named singletons).
        faces: (F, 3) mesh faces; may be set later with :meth:`set_faces`.
        alpha: Opacity of the rendered meshes.
        mesh_colors: Mesh colours in [0, 1], cycled over people.
        bbox_color: Box colour (0-255).
        keypoint_color: Keypoint colour (0-255).
        show_bboxes: Draw the person boxes.
        show_keypoints: Draw the projected 2D keypoints.
        **kwargs: Passed to :class:`mmengine.visualization.Visualizer`.
    """

    def __init__(self, name: str = 'visualizer', faces: Optional[np.ndarray] = None,
                 alpha: float = 0.8,
                 mesh_colors: Sequence[Tuple[float, float, float]] = (DEFAULT_COLOR, ),
                 bbox_color: Tuple[int, int, int] = (0, 255, 0),
                 keypoint_color: Tuple[int, int, int] = (0, 0, 255), show_bboxes: bool = True,
                 show_keypoints: bool = False, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.alpha = alpha
        self.mesh_colors = list(mesh_colors)
        self.bbox_color = bbox_color
        self.keypoint_color = keypoint_color
        self.show_bboxes = show_bboxes
        self.show_keypoints = show_keypoints

    def set_faces(self, faces: np.ndarray) -> None:
        """Set the mesh topology (e.g. the SMPL-X faces of the model's body model)."""
        self.faces = np.asarray(faces, dtype=np.int64)

    def draw_people(self, image: np.ndarray, people: Sequence[Person]) -> np.ndarray:
        """Draw every person of one image: meshes in one depth buffer, then boxes.

        Each person (a dict or ``InstanceData``) needs ``vertices`` (V, 3) in its
        camera frame, ``focal`` (2,) and ``princpt`` (2,) in image pixels; ``bbox``
        (``[x1, y1, x2, y2]``) and ``keypoints_2d`` (K, 2) are drawn when present.
        A leading instance dimension of 1 is accepted.

        Args:
            image: (H, W, 3) uint8 RGB image.
            people: The people to draw.

        Returns:
            The drawn (H, W, 3) uint8 RGB image.

        Raises:
            ValueError: If faces are not set or a person lacks a camera.
        """
        drawn = np.ascontiguousarray(image, dtype=np.uint8)
        meshes, focals, princpts, colors = [], [], [], []
        for i, person in enumerate(people):
            vertices = _field(person, 'vertices')
            if vertices is None:
                continue
            if self.faces is None:
                raise ValueError('SMPLXVisualizer needs mesh faces: call set_faces(faces) or '
                                 'pass faces=... to the constructor')
            focal, princpt = _field(person, 'focal'), _field(person, 'princpt')
            if focal is None or princpt is None:
                raise ValueError('each person needs `focal` and `princpt` (image pixels) to '
                                 'be drawn')
            meshes.append((vertices.reshape(-1, 3), self.faces))
            focals.append(focal.reshape(-1)[:2])
            princpts.append(princpt.reshape(-1)[:2])
            colors.append(self.mesh_colors[i % len(self.mesh_colors)])
        if meshes:
            drawn = render_meshes(drawn, meshes, np.stack(focals), np.stack(princpts),
                                  colors=colors, alpha=self.alpha)
        for person in people:
            bbox = _field(person, 'bbox')
            if self.show_bboxes and bbox is not None:
                drawn = draw_bbox(drawn, bbox.reshape(-1)[:4], self.bbox_color)
            keypoints = _field(person, 'keypoints_2d')
            if self.show_keypoints and keypoints is not None:
                drawn = draw_keypoints(drawn, keypoints.reshape(-1, 2), self.keypoint_color)
        return drawn

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None,
                       draw_gt: bool = False, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw the predictions of one or several data samples of the same image.

        Args:
            name: Image identifier for the visualization backends.
            image: (H, W, 3) uint8 RGB image.
            data_sample: A ``SMPLXDataSample`` or a list of them (one per person). Their
                ``pred_instances`` carry ``vertices``, ``focal``, ``princpt`` and
                optionally ``bboxes``/``keypoints_2d``.
            draw_gt: Ignored (no ground-truth mesh camera is stored in samples).
            draw_pred: Draw the predictions.
            show: Show the result in a window.
            wait_time: Seconds to wait when showing.
            out_file: Write the drawing to this file (atomically) instead of the backends.
            step: Global step for the backends.

        Returns:
            The drawn RGB image.
        """
        samples = data_sample if isinstance(data_sample, (list, tuple)) else [data_sample]
        people: List[Dict[str, Any]] = []
        if draw_pred:
            for sample in samples:
                if sample is None or 'pred_instances' not in sample:
                    continue
                pred = sample.pred_instances
                person = {k: pred.get(k) for k in ('vertices', 'focal', 'princpt',
                                                   'keypoints_2d')}
                bboxes = pred.get('bboxes')
                if bboxes is None and 'bbox' in sample.metainfo:
                    x, y, w, h = np.asarray(sample.metainfo['bbox'], dtype=float)[:4]
                    bboxes = [x, y, x + w, y + h]
                person['bbox'] = bboxes
                people.append(person)
        drawn = self.draw_people(image, people)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            atomic_write_image(out_file, drawn[..., ::-1])
        else:
            self.add_image(name, drawn, step)
        return drawn
