"""The data-pipeline benchmark runs end to end on a tiny synthetic set."""

from smplestx.testing.tools import load_tool

SCRIPT = 'tools/analysis_tools/benchmark_data_pipeline.py'


def test_benchmark_prints_rates(body_model_path, tmp_path, capsys):
    module = load_tool(SCRIPT)
    module.main(['--body-model-dir', str(body_model_path), '--num', '2', '--samples', '2',
                 '--rounds', '2', '--img-size', '96', '128', '--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    rates = {line.split(':')[0].strip(): float(line.split(':')[1].split()[0])
             for line in out.splitlines() if 'samples/s' in line}
    assert set(rates) == {'ours', 'official'}
    assert all(rate > 0 for rate in rates.values())
    assert 'ratio: x' in out
