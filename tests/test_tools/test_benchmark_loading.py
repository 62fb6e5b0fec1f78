"""Loading a stand-in of a training checkpoint: memory stays near the weights (subprocess)."""

from pathlib import Path

import pytest

from smplestx.testing.standin_checkpoint import (
    make_standin_checkpoint,
    shapes_from_config,
    shapes_from_listing,
)
from smplestx.testing.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
S_CONFIG = REPO / 'configs' / 'smplestx' / 'smplestx_vit-s_16xb16-20e_h40-256x192.py'
TOOL = 'tools/analysis_tools/benchmark_loading.py'
H_LISTING = REPO.parent / 'shared' / 'reference' / 'official_state_dict_vit_h_checkpoint.txt'


@pytest.fixture(scope='module')
def standin_s(tmp_path_factory):
    """An official-format ViT-S checkpoint with Adam state (3x its weights, ~450 MB)."""
    path = tmp_path_factory.mktemp('standin') / 'standin_s.pth.tar'
    info = make_standin_checkpoint(path, shapes_from_config(S_CONFIG), seed=0)
    assert info["num_params"] == 37_405_808  # the S network (README model zoo: 37.4M)
    assert info['bytes'] > 3 * 4 * info['num_params']  # weights + exp_avg + exp_avg_sq
    return path


@pytest.mark.skipif(not Path('/proc/self/status').exists(),
                    reason='the peak is read from /proc/self/status (Linux)')
def test_standin_loads_with_peak_memory_near_the_weights(standin_s):
    """Peak RSS of init_model plus reading every weight <= 1.5x the fp32 weights.

    Reading the whole file (what torch.load without mmap does) alone would take 3x; the
    ratio holds on any machine, whatever its speed.
    """
    results = load_tool(TOOL).main([str(S_CONFIG), str(standin_s), '--no-body-model', '--json',
                                '--threads', '1'])
    run = results['this tree'][0]
    assert run['precision'] == 'fp32'
    assert run['fp32_weights_gb'] == pytest.approx(37_405_808 * 4 / 2**30, rel=1e-6)
    assert run['peak_used_gb'] <= 1.5 * run['fp32_weights_gb'], run
    assert run['peak_init_gb'] <= run['peak_used_gb'] + 1e-6


@pytest.mark.skipif(not H_LISTING.exists(), reason=f'{H_LISTING} not found')
def test_h_listing_matches_the_h_config():
    """The stand-in of the released file has exactly the keys and shapes of our H network."""
    h_config = REPO / 'configs' / 'smplestx' / 'smplestx_vit-h_16xb16-20e_h40-256x192.py'
    listing = shapes_from_listing(H_LISTING)
    assert len(listing) == 519
    assert listing == shapes_from_config(h_config)
    assert sum(n for n in (_numel(s) for s in listing.values())) == 687_223_152


def _numel(shape):
    count = 1
    for dim in shape:
        count *= dim
    return count


def test_malformed_listing_names_the_line(tmp_path):
    bad = tmp_path / 'listing.txt'
    bad.write_text('module.encoder.pos_embed\t[1, 193, 32]\nnot a line\n')
    with pytest.raises(ValueError, match=r'listing.txt:2: expected "name<TAB>\[shape\]"'):
        shapes_from_listing(bad)
