from pathlib import Path

import numpy as np
import pytest
import torch

from smplestx.apis import init_model
from smplestx.deployment import (
    MESH_OUTPUTS,
    PARAM_OUTPUTS,
    compare_with_pytorch,
    export_onnx,
    onnx_session,
    run_onnx,
)
from smplestx.testing.official_io import official_crops

pytest.importorskip('onnxruntime', reason='ONNX export tests need the deploy extra '
                    '(pip install "smplestx[deploy]")')

TINY = Path(__file__).resolve().parents[2] / 'configs' / 'smplestx' / \
    'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'

#: ONNX output -> official test-mode output.
OFFICIAL_KEYS = {
    'global_orient': 'smplx_root_pose', 'body_pose': 'smplx_body_pose',
    'left_hand_pose': 'smplx_lhand_pose', 'right_hand_pose': 'smplx_rhand_pose',
    'jaw_pose': 'smplx_jaw_pose', 'betas': 'smplx_shape', 'expression': 'smplx_expr',
    'transl': 'cam_trans', 'vertices': 'smplx_mesh_cam', 'keypoints_2d_hm': 'smplx_joint_proj',
}


@pytest.fixture(scope='module')
def official_model(body_model_path, official_tiny_path):
    return init_model(str(TINY), str(official_tiny_path / 'snapshot_0.pth.tar'), 'cpu',
                      body_model_dir=str(body_model_path))


@pytest.fixture(scope='module')
def exported(official_model, tmp_path_factory):
    path = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    return export_onnx(official_model, str(path))


def test_onnx_runtime_reproduces_the_official_outputs(official_model, exported, official_io):
    inputs = official_model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
    got = run_onnx(onnx_session(exported), inputs.numpy())
    assert list(got) == list(PARAM_OUTPUTS) + list(MESH_OUTPUTS)
    for name, key in OFFICIAL_KEYS.items():
        expected = official_io[f'test/out/{key}']
        np.testing.assert_allclose(got[name], expected.reshape(got[name].shape), atol=1e-4,
                                   rtol=1e-4, err_msg=name)
    # Camera-frame joints = pelvis-relative joints + the pelvis.
    joint_cam = official_io['test/out/smplx_joint_cam']
    np.testing.assert_allclose(got['joints'] - got['joints'][:, :1], joint_cam, atol=1e-4)


def test_dynamic_batch_matches_pytorch(official_model, exported):
    # Traced at batch 2; other batches must run and agree with PyTorch.
    assert onnx_session(exported).get_inputs()[0].shape == ['batch', 3, 256, 192]
    diffs = compare_with_pytorch(official_model, exported, batch_sizes=(1, 3))
    assert set(diffs) == set(PARAM_OUTPUTS) | set(MESH_OUTPUTS)
    assert max(diff for diff, _ in diffs.values()) < 1e-4, diffs
    assert all(scale > 0 for _, scale in diffs.values())


def test_parameters_only_graph_with_external_weights(official_model, tmp_path):
    path = tmp_path / 'params.onnx'
    export_onnx(official_model, str(path), with_mesh=False, external_data=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['params.onnx', 'params.onnx.data']
    assert path.stat().st_size < (tmp_path / 'params.onnx.data').stat().st_size
    diffs = compare_with_pytorch(official_model, str(path), batch_sizes=(1, 4))
    assert set(diffs) == set(PARAM_OUTPUTS)
    assert max(diff for diff, _ in diffs.values()) < 1e-4, diffs


def test_export_errors(body_model_path, tmp_path):
    model = init_model(str(TINY), body_model_dir=str(body_model_path), seed=0)
    model.head.body_model = None  # e.g. a head built without its SMPL-X layer
    with pytest.raises(ValueError, match='needs the model built with its SMPL-X body model'):
        export_onnx(model, str(tmp_path / 'x.onnx'))
    assert not list(tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match='missing.onnx: no such ONNX file'):
        onnx_session(str(tmp_path / 'missing.onnx'))


def test_export_keeps_the_model_usable(official_model, exported, official_io):
    # Exporting must not change the model's own predictions (eval mode, same weights).
    inputs = official_model.data_preprocessor(dict(inputs=official_crops(official_io)))['inputs']
    with torch.no_grad():
        out = official_model(inputs, mode='tensor')
    np.testing.assert_allclose(out['cam_trans'].numpy(), official_io['test/out/cam_trans'],
                               atol=1e-5, rtol=1e-5)


def test_the_documented_python_example_runs_and_projects_correctly(official_model, exported,
                                                                   monkeypatch):
    # The Python block of docs/deployment.md, on the exported tiny model.
    repo = Path(__file__).resolve().parents[2]
    page = (repo / 'docs' / 'deployment.md').read_text(encoding='utf-8')
    code = page.split('```python\n', 1)[1].split('```', 1)[0]
    assert 'outputs/onnx/smplestx_h.onnx' in code
    monkeypatch.chdir(repo)
    namespace: dict = {}
    exec(compile(code.replace('outputs/onnx/smplestx_h.onnx', exported), 'deployment.md',
                 'exec'), namespace)
    # Same crop through PyTorch: the image keypoints of the model's own prediction.
    item = namespace['item']
    data = official_model.data_preprocessor(dict(inputs=[item['inputs']],
                                                 data_samples=[item['data_samples']]))
    with torch.no_grad():
        pred = official_model(**data, mode='predict')[0].pred_instances
    expected = pred.keypoints_2d[0].numpy()
    got = np.stack([namespace['u'], namespace['v']], axis=-1)
    np.testing.assert_allclose(got, expected, atol=1e-2)
