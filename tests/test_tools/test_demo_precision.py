"""tools/demo.py passes --precision to the model it builds and rejects unknown names."""

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


def test_precision_reaches_the_model(demo, monkeypatch, tmp_path, capsys):
    from smplestx.apis import demo_runner

    seen = {}

    def fake_build_model(setup, device, seed, cfg_options, precision):
        seen['precision'] = precision
        raise ValueError('stop here')

    monkeypatch.setattr(demo_runner, 'build_model', fake_build_model)
    argv = [str(REPO / 'demo' / 'astronaut.jpg'), '--whole-image', '--out-dir', str(tmp_path),
            '--standin-dir', str(tmp_path / 'standin')]
    assert demo.main(argv + ['--precision', 'auto']) == 2
    assert seen['precision'] == 'auto'
    assert demo.main(argv) == 2
    assert seen['precision'] is None  # the config's key decides (fp32 by default)
    with pytest.raises(SystemExit):
        demo.parse_args(argv + ['--precision', 'fp64'])
    assert "invalid choice: 'fp64'" in capsys.readouterr().err
