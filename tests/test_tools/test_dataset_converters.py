import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from smplestx.datasets import HumanDataset
from smplestx.datasets.utils.humandata_check import check_humandata
from smplestx.testing.damage import edited_humandata
from smplestx.testing.tools import load_tool

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'dataset_converters'


def _digest(folder):
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob('*')):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes() if path.suffix == '.jpg' else b'')
    return digest.hexdigest()


@pytest.fixture(scope='module')
def synthetic(body_model_path, tmp_path_factory):
    tool = load_tool(TOOLS / 'make_synthetic_humandata.py')
    out = tmp_path_factory.mktemp('syn')
    assert tool.main(['--body-model-dir', str(body_model_path), '--out-dir', str(out),
                      '--num', '2', '--size', '96', '80', '--seed', '3']) == 0
    return out


def test_synthetic_set_is_complete_and_loads(synthetic):
    path = synthetic / 'synthetic_humandata.npz'
    report = check_humandata(str(path), img_dir=str(synthetic))
    assert report.ok, report.format()
    assert report.num_samples == 2 and not report.nan_counts
    ds = HumanDataset(str(path), data_prefix=dict(img_path=str(synthetic)),
                      camera_from_meta=True)
    info = ds.get_data_info(1)
    assert info['ann_shape'] == (96, 80) and info['keypoints_3d'] is not None
    x, y, w, h = info['bbox']
    kps = info['keypoints_2d'][:25]
    assert (kps[:, 0] > x).all() and (kps[:, 0] < x + w).all()
    assert (kps[:, 1] > y).all() and (kps[:, 1] < y + h).all()
    kps3d = info['keypoints_3d']
    proj = kps3d[:, :2] / kps3d[:, 2:] * info['cam_param']['focal'] + info['cam_param'][
        'princpt']
    np.testing.assert_allclose(proj, info['keypoints_2d'], atol=1e-3)


def test_synthetic_set_is_deterministic(synthetic, body_model_path, tmp_path):
    tool = load_tool(TOOLS / 'make_synthetic_humandata.py')
    tool.main(['--body-model-dir', str(body_model_path), '--out-dir', str(tmp_path),
               '--num', '2', '--size', '96', '80', '--seed', '3'])
    assert _digest(tmp_path) == _digest(synthetic)
    with np.load(tmp_path / 'synthetic_humandata.npz', allow_pickle=True) as a, \
            np.load(synthetic / 'synthetic_humandata.npz', allow_pickle=True) as b:
        np.testing.assert_array_equal(a['keypoints2d'], b['keypoints2d'])
        np.testing.assert_array_equal(a['smplx'].item()['body_pose'],
                                      b['smplx'].item()['body_pose'])


def test_checker_reports_problems(tmp_path, capsys):
    rng = np.random.default_rng(0)
    kps = rng.normal(size=(3, 144, 3)).astype(np.float32)
    kps[1, 5, 0] = np.nan
    bad = tmp_path / 'bad.npz'
    np.savez(bad, image_path=np.array(['a.jpg', 'b.jpg', 'c.jpg']), keypoints2d=kps,
             smplx=dict(global_orient=np.zeros((3, 3)), body_pose=np.zeros((2, 21, 3))))
    report = check_humandata(str(bad))
    text = report.format()
    assert not report.ok
    assert "missing required key 'bbox_xywh'" in text
    assert 'smplx.body_pose has shape (2, 21, 3)' in text
    assert "smplx is missing 'betas'" in text
    assert report.nan_counts == {'keypoints2d': 1}
    assert '__keypoints_compressed__' in text
    tool = load_tool(TOOLS / 'check_humandata.py')
    assert tool.main([str(bad)]) == 1
    assert 'bbox_xywh' in capsys.readouterr().out


def test_checker_handles_unreadable_files(tmp_path):
    path = tmp_path / 'junk.npz'
    path.write_bytes(b'junk')
    report = check_humandata(str(path))
    assert not report.ok and 'junk.npz' in report.errors[0]
    missing = check_humandata(str(tmp_path / 'none.npz'))
    assert not missing.ok and 'none.npz' in missing.errors[0]


def test_checker_finds_missing_images(synthetic, tmp_path):
    report = check_humandata(str(synthetic / 'synthetic_humandata.npz'), img_dir=str(tmp_path))
    assert not report.ok and 'image files missing' in report.errors[0]


def test_checker_reports_nan_smplx_parameters_with_their_rows(synthetic, tmp_path, capsys):
    def poison(content):
        content['smplx']['body_pose'][1, 3, 0] = np.nan
        content['smplx']['expression'][0, 2] = np.nan

    path = edited_humandata(synthetic / 'synthetic_humandata.npz', tmp_path / 'nan.npz', poison)
    assert load_tool(TOOLS / 'check_humandata.py').main([path]) == 0  # it still loads
    out = capsys.readouterr().out.splitlines()
    assert f'WARNING: {path}: smplx.body_pose is NaN in 1 sample(s), rows 1: training masks ' \
        f'that part, evaluation (test_mode) leaves these samples out' in out
    assert any(line.startswith(f'WARNING: {path}: smplx.expression is NaN in 1 sample(s), '
                               f'rows 0:') for line in out)
    assert out[-1] == 'OK (2 warning(s))'


@pytest.mark.parametrize('argv,env,message', [
    (['--num', '0'], True, 'error: --num must be at least 1 (got 0): nothing to write'),
    (['--num', '2'], False, 'error: No SMPL-X body-model folder given: set `body_model_dir` in '
     'the config or the SMPLESTX_BODY_MODELS environment variable'),
])
def test_synthetic_tool_bad_arguments_are_one_line_errors(tmp_path, body_model_path, argv, env,
                                                          message):
    """The script itself (its ``__main__``): one line on stderr, status 2, nothing written."""
    environ = {k: v for k, v in os.environ.items() if k != 'SMPLESTX_BODY_MODELS'}
    if env:
        environ['SMPLESTX_BODY_MODELS'] = str(body_model_path)
    done = subprocess.run([sys.executable, str(TOOLS / 'make_synthetic_humandata.py'),
                           '--out-dir', str(tmp_path / 'out'), *argv], env=environ,
                          capture_output=True, text=True, timeout=120)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1 and err[0].startswith(message), done.stderr
    assert not (tmp_path / 'out').exists()
