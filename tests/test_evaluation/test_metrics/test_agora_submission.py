"""AGORASubmission: the AGORA server's per-person pickles from real model predictions."""

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from smplestx.evaluation.metrics import AGORASubmission
from smplestx.evaluation.metrics.agora_submission import portable_pickle_bytes, submission_name
from smplestx.registry import METRICS, MODELS
from smplestx.structures import SMPLXDataSample
from smplestx.structures.keypoint.smplx_conventions import SMPLX_137_FROM_144

REPO = Path(__file__).resolve().parents[3]
TINY = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
#: (img_path, ori_shape (H, W), processed body box xywh) per sample, in dataset order.
SAMPLES = [('test/img_a.png', (2160, 3840), (1000., 400., 600., 800.)),
           ('test/img_b.png', (2160, 3840), (2000., 900., 300., 400.)),
           ('test/img_a.png', (720, 1280), (100., 50., 150., 200.))]
#: Shapes ``check_pred_format.check_smplx`` of agora_evaluation demands (pose2rot=True).
PARAM_SHAPES = dict(transl=(1, 3), betas=(1, 10), expression=(1, 10), global_orient=(1, 3),
                    body_pose=(1, 63), left_hand_pose=(1, 45), right_hand_pose=(1, 45),
                    leye_pose=(1, 3), reye_pose=(1, 3), jaw_pose=(1, 3))


class _OldNumpyUnpickler(pickle.Unpickler):
    """Fails like numpy < 1.26 on numpy 2 pickles, and refuses anything but numpy.array."""

    def find_class(self, module, name):
        if (module, name) != ('numpy', 'array'):
            raise pickle.UnpicklingError(f'global {module}.{name} not allowed')
        return super().find_class(module, name)


@pytest.fixture(scope='module')
def predictions(body_model_path):
    """The tiny model's predictions for three crops (``SMPLXDataSample``s)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('SMPLESTX_BODY_MODELS', str(body_model_path))
        init_default_scope('smplestx')
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(str(TINY)).model).eval()
    samples = []
    for idx, (path, shape, bbox) in enumerate(SAMPLES):
        sample = SMPLXDataSample()
        sample.set_metainfo(dict(img_path=path, sample_idx=idx, ori_shape=shape,
                                 bbox=np.array(bbox, np.float32)))
        samples.append(sample)
    inputs = [torch.rand(3, 512, 384) * 255 for _ in SAMPLES]
    with torch.no_grad():
        return model.test_step(dict(inputs=inputs, data_samples=samples))


def _submit(predictions, out_dir, body_model_path, as_dicts=True, **kwargs):
    metric = AGORASubmission(out_dir=str(out_dir), body_model_dir=str(body_model_path), **kwargs)
    samples = [p.to_dict() for p in predictions] if as_dicts else list(predictions)
    metric.process(None, samples[:2])
    metric.process(None, samples[2:])
    return metric.evaluate(len(samples))


def _load(path):
    with open(path, 'rb') as handle:
        return _OldNumpyUnpickler(handle).load()


def test_files_follow_the_agora_format(predictions, tmp_path, body_model_path):
    counts = _submit(predictions, tmp_path, body_model_path)
    assert counts == {'agora/num_predictions': 3, 'agora/num_images': 2}
    folder = tmp_path / 'predictions'
    names = ['img_a_personId_0.pkl', 'img_b_personId_0.pkl', 'img_a_personId_1.pkl']
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    for name, pred, (_, shape, _) in zip(names, predictions, SAMPLES):
        data = _load(folder / name)
        assert set(data) == {'params', 'joints'}
        assert set(data['params']) == set(PARAM_SHAPES)
        for key, value in data['params'].items():
            assert isinstance(value, np.ndarray) and value.dtype == np.float32, key
            assert value.shape == PARAM_SHAPES[key], key
        inst = pred.pred_instances
        for key in ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose',
                    'jaw_pose', 'betas', 'expression', 'transl'):
            np.testing.assert_array_equal(data['params'][key], inst[key].reshape(1, -1).numpy())
        assert not data['params']['leye_pose'].any() and not data['params']['reye_pose'].any()

        # 144 layer-order joints in 3840x2160 pixels; the model's own projection of its 137
        # supervision joints (heatmap units mapped through the box) is a subset of them.
        joints = data['joints']
        assert joints.shape == (144, 2) and joints.dtype == np.float32
        scale = np.array([3840 / shape[1], 2160 / shape[0]], np.float32)
        expected = inst.keypoints_2d[0].numpy() * scale
        np.testing.assert_allclose(joints[list(SMPLX_137_FROM_144)], expected, rtol=0,
                                   atol=2e-3 * scale.max())

    with zipfile.ZipFile(tmp_path / 'predictions.zip') as archive:
        assert sorted(archive.namelist()) == sorted(f'predictions/{n}' for n in names)
        for name in names:
            assert archive.read(f'predictions/{name}') == (folder / name).read_bytes()


def test_samples_as_objects_give_the_same_files(predictions, tmp_path, body_model_path):
    _submit(predictions, tmp_path / 'dicts', body_model_path)
    _submit(predictions, tmp_path / 'objects', body_model_path, as_dicts=False)
    for path in (tmp_path / 'dicts' / 'predictions').iterdir():
        assert (tmp_path / 'objects' / 'predictions' / path.name).read_bytes() == \
            path.read_bytes()
    assert (tmp_path / 'dicts' / 'predictions.zip').read_bytes() == \
        (tmp_path / 'objects' / 'predictions.zip').read_bytes()


def test_with_mesh_and_image_pixels(predictions, tmp_path, body_model_path):
    _submit(predictions, tmp_path, body_model_path, with_mesh=True, resolution=None,
            make_zip=False)
    assert not (tmp_path / 'predictions.zip').exists()
    data = _load(tmp_path / 'predictions' / 'img_a_personId_1.pkl')
    inst = predictions[2].pred_instances
    np.testing.assert_array_equal(data['verts'], inst.vertices[0].numpy())
    assert data['allSmplJoints3d'].shape == (127, 3)
    # The 3D joints project onto the 2D ones with the crop's image-space camera.
    focal, princpt = inst.focal[0].numpy(), inst.princpt[0].numpy()
    points = data['allSmplJoints3d'].astype(np.float64)
    projected = points[:, :2] / (points[:, 2:] + 1e-4) * focal + princpt
    np.testing.assert_allclose(data['joints'][:127], projected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(data['joints'][list(SMPLX_137_FROM_144)],
                               inst.keypoints_2d[0].numpy(), rtol=0, atol=2e-3)


def test_a_new_run_replaces_the_predictions(predictions, tmp_path, body_model_path):
    stale = tmp_path / 'predictions' / 'old_personId_0.pkl'
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b'stale')
    _submit(predictions, tmp_path, body_model_path)
    assert not stale.exists()
    assert len(list((tmp_path / 'predictions').iterdir())) == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


def test_duplicate_samples_are_refused(predictions, tmp_path, body_model_path):
    metric = AGORASubmission(out_dir=str(tmp_path), body_model_dir=str(body_model_path))
    samples = [p.to_dict() for p in predictions]
    metric.process(None, samples + samples[:1])
    with pytest.raises(RuntimeError, match='occurs twice'):
        metric.compute_metrics(metric.results)
    assert not (tmp_path / 'predictions').exists()


def test_clear_errors(predictions, tmp_path, body_model_path):
    with pytest.raises(ValueError, match='out_dir'):
        AGORASubmission(out_dir='', body_model_dir=str(body_model_path))
    with pytest.raises(ValueError, match='resolution'):
        AGORASubmission(out_dir=str(tmp_path), body_model_dir=str(body_model_path),
                        resolution=(2160, ))
    metric = AGORASubmission(out_dir=str(tmp_path), body_model_dir=str(body_model_path))
    sample = predictions[0].to_dict()
    del sample['pred_instances']['focal']
    with pytest.raises(KeyError, match='pred_instances.focal'):
        metric.process(None, [sample])
    sample = predictions[0].to_dict()
    del sample['ori_shape']
    with pytest.raises(KeyError, match='ori_shape'):
        metric.process(None, [sample])


def test_registered_and_helpers():
    assert METRICS.get('AGORASubmission') is AGORASubmission
    assert submission_name('a/b/ag_test_00001.png', 3) == 'ag_test_00001_personId_3.pkl'
    value = {'x': np.arange(6, dtype=np.float32).reshape(2, 3), 'y': [np.zeros(1)]}
    loaded = _OldNumpyUnpickler(io.BytesIO(portable_pickle_bytes(value))).load()
    np.testing.assert_array_equal(loaded['x'], value['x'])
    assert loaded['x'].dtype == np.float32 and loaded['y'][0].dtype == np.float64
