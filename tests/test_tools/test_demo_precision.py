"""tools/demo.py passes --precision to the inferencer and rejects unknown names."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'demo.py'


@pytest.fixture(scope='module')
def demo():
    spec = importlib.util.spec_from_file_location('demo_tool_precision', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_precision_reaches_the_inferencer(demo, monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_build_inferencer(setup, device, boxes, **kwargs):
        seen.update(kwargs)
        raise ValueError('stop here')

    monkeypatch.setattr(demo, 'build_inferencer', fake_build_inferencer)
    argv = [str(REPO / 'demo' / 'astronaut.jpg'), '--whole-image', '--out-dir', str(tmp_path),
            '--standin-dir', str(tmp_path / 'standin')]
    assert demo.main(argv + ['--precision', 'auto']) == 2
    assert seen['precision'] == 'auto'
    assert demo.main(argv) == 2
    assert seen['precision'] is None  # the config's key decides (fp32 by default)
    with pytest.raises(SystemExit):
        demo.parse_args(argv + ['--precision', 'fp64'])
    assert "invalid choice: 'fp64'" in capsys.readouterr().err
