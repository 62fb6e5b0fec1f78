"""The checkpoint CRC benchmark runs end to end on a small file."""

from smplestx.testing.tools import load_tool

SCRIPT = 'tools/analysis_tools/benchmark_checkpoint_crc.py'


def test_benchmark_prints_times_and_ratios(tmp_path, capsys):
    module = load_tool(SCRIPT)
    module.main(['--size-mb', '4', '--tensors', '4', '--rounds', '1', '--work-dir',
                 str(tmp_path)])
    out = capsys.readouterr().out
    times = {line.split(':')[0]: float(line.split(':')[1].split()[0])
             for line in out.splitlines() if line.endswith('MiB/s)')}
    assert set(times) == {'crc check', 'torch.load', 'torch.load mmap + use'}
    assert all(value > 0 for value in times.values())
    assert 'crc check / torch.load: x' in out
    assert list(tmp_path.iterdir()) == []  # the checkpoint is removed
