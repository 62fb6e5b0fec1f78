from pathlib import Path

import pytest

from smplestx.testing.tools import load_tool

pytest.importorskip('onnxruntime', reason='ONNX export tests need the deploy extra '
                    '(pip install "smplestx[deploy]")')

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
TOOL = 'tools/deployment/pytorch2onnx.py'


def test_exports_and_verifies_the_official_checkpoint(body_model_path, official_tiny_path,
                                                      tmp_path, capsys):
    out = tmp_path / 'deploy' / 'tiny.onnx'
    code = load_tool(TOOL).main([str(TINY_CONFIG), str(official_tiny_path / 'snapshot_0.pth.tar'),
                             '--body-model-dir', str(body_model_path), '--out', str(out),
                             '--no-mesh', '--verify'])
    text = capsys.readouterr().out
    assert code == 0, text
    assert out.is_file() and 'verified: every output within --atol 0.0001 + --rtol 1e-05' in text
    assert 'global_orient' in text and 'vertices' not in text  # --no-mesh: parameters only
    # Failing verification gives exit code 1 and names the output.
    code = load_tool(TOOL).main([str(TINY_CONFIG), str(official_tiny_path / 'snapshot_0.pth.tar'),
                             '--body-model-dir', str(body_model_path), '--out', str(out),
                             '--no-mesh', '--verify', '--atol', '0', '--rtol', '0'])
    assert code == 1 and 'differs by' in capsys.readouterr().err


def test_bad_inputs_give_one_line_errors(body_model_path, tmp_path, capsys):
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'not a checkpoint')
    tool = load_tool(TOOL)
    assert tool.main([str(TINY_CONFIG), str(junk), '--body-model-dir', str(body_model_path),
                      '--out', str(tmp_path / 'x.onnx')]) == 1
    assert 'junk.pth is not a torch checkpoint' in capsys.readouterr().err
    assert tool.main([str(TINY_CONFIG), '--body-model-dir', str(tmp_path / 'none'),
                      '--out', str(tmp_path / 'x.onnx')]) == 1
    assert 'none' in capsys.readouterr().err
    assert not (tmp_path / 'x.onnx').exists()
