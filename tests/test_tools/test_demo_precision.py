"""tools/demo.py passes --precision to the model it builds and rejects unknown names."""

from pathlib import Path

import pytest

from smplestx.testing.tools import load_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def demo():
    return load_tool('tools/demo.py')


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
