from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmengine.visualization import BaseVisBackend, Visualizer

from smplestx.engine.hooks import SMPLXVisualizationHook
from smplestx.engine.hooks.visualization_hook import crop_camera
from smplestx.registry import HOOKS, MODELS, VISBACKENDS
from smplestx.structures import SMPLXDataSample

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'


@VISBACKENDS.register_module(force=True)
class _RecordingVisBackend(BaseVisBackend):
    """Stands in for TensorBoard & co: records what the hook sends to the backends."""

    images = []

    @property
    def experiment(self):
        return self

    def _init_env(self):
        pass

    def add_image(self, name, image, step=0, **kwargs):
        type(self).images.append((name, image.copy(), step))


@pytest.fixture(scope='module')
def tiny_model(body_model_path):
    init_default_scope('smplestx')
    cfg = Config.fromfile(str(TINY_CONFIG))
    cfg.model.head.body_model.body_model_dir = str(body_model_path)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _batch(count=3):
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, 512, 384), generator=gen).float() for _ in range(count)]
    samples = []
    for _ in range(count):
        sample = SMPLXDataSample()
        gt = InstanceData()
        gt.joint_img = torch.rand(1, 137, 3, generator=gen) * torch.tensor([12., 16., 1.])
        gt.joint_valid = torch.ones(1, 137, 1)
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _runner(model, tmp_path, iteration):
    _RecordingVisBackend.images = []
    visualizer = Visualizer(name=f'vis_{tmp_path.name}_{iteration}', save_dir=str(tmp_path),
                            vis_backends=[dict(type='LocalVisBackend'),
                                          dict(type='_RecordingVisBackend')])
    return SimpleNamespace(model=model, iter=iteration, visualizer=visualizer)


def test_crop_camera_scales_the_network_camera(tiny_model):
    focal, princpt = crop_camera(tiny_model.head.body_model, (512, 384))
    np.testing.assert_allclose(focal, [10000., 10000.])
    np.testing.assert_allclose(princpt, [192., 256.])


def test_train_overlays_go_to_every_backend(tiny_model, tmp_path):
    hook = HOOKS.build(dict(type='SMPLXVisualizationHook', train_interval=5, num_samples=2))
    batch = _batch()
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    tiny_model.train()
    runner = _runner(tiny_model, tmp_path, iteration=3)
    hook.after_train_iter(runner, 3, batch, outputs=None)  # iteration 4: not due
    assert _RecordingVisBackend.images == []
    runner.iter = 4
    hook.after_train_iter(runner, 4, batch, outputs=None)
    names = [(name, step) for name, _, step in _RecordingVisBackend.images]
    assert names == [('train_sample0', 5), ('train_sample1', 5)]
    assert tiny_model.training, 'the hook must restore training mode'
    for key, value in tiny_model.state_dict().items():
        assert torch.equal(value, before[key]), key
    files = sorted((tmp_path / 'vis_data' / 'vis_image').glob('*.png'))
    assert [f.name for f in files] == ['train_sample0_5.png', 'train_sample1_5.png']
    for (_, image, _), crop, path in zip(_RecordingVisBackend.images, batch['inputs'], files):
        assert image.shape == (512, 384, 3) and image.dtype == np.uint8
        on_disk = cv2.imread(str(path))[..., ::-1]
        np.testing.assert_array_equal(on_disk, image)
        changed = np.abs(image.astype(int) - crop.permute(1, 2, 0).numpy()).sum(-1) > 0
        assert 0.001 < changed.mean() < 0.9, 'expected a mesh (and keypoints) over part of the crop'


def test_mesh_lands_where_the_camera_projects_it(tiny_model, tmp_path):
    hook = SMPLXVisualizationHook(val_interval=1, num_samples=1, alpha=1.0,
                                  mesh_color=(1.0, 0.0, 0.0), gt_keypoint_color=None)
    batch = _batch(1)
    batch['inputs'][0].zero_()
    tiny_model.eval()
    with torch.no_grad():
        outputs = tiny_model(**tiny_model.data_preprocessor(batch), mode='predict')
    runner = _runner(tiny_model, tmp_path, iteration=7)
    hook.after_val_iter(runner, 0, batch, outputs)
    (name, image, step), = _RecordingVisBackend.images
    assert (name, step) == ('val_0_sample0', 7)
    focal, princpt = crop_camera(tiny_model.head.body_model, (512, 384))
    vertices = outputs[0].pred_instances.vertices[0].numpy()
    uv = vertices[:, :2] / vertices[:, 2:] * focal + princpt
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < 384) & (uv[:, 1] >= 0) & (uv[:, 1] < 512)
    assert inside.any()
    drawn = image.sum(-1) > 0
    hits = drawn[uv[inside, 1].astype(int), uv[inside, 0].astype(int)]
    assert hits.mean() > 0.9
    assert not drawn[~_hull_mask(uv[inside], image.shape[:2])].any()


def _hull_mask(points, shape):
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


def test_disabled_intervals_and_bad_arguments(tiny_model, tmp_path):
    hook = SMPLXVisualizationHook(train_interval=0, val_interval=0)
    runner = _runner(tiny_model, tmp_path, iteration=0)
    hook.after_train_iter(runner, 0, _batch(1))
    hook.after_val_iter(runner, 0, _batch(1), outputs=[SMPLXDataSample()])
    hook.after_test_iter(runner, 0, _batch(1), outputs=[SMPLXDataSample()])
    assert _RecordingVisBackend.images == []
    with pytest.raises(ValueError, match='train_interval must be a non-negative integer'):
        SMPLXVisualizationHook(train_interval=-1)
