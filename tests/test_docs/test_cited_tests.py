"""The tests that docs/bad_inputs.md cites for each behaviour exist."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_cited_test_exists():
    table = (REPO / 'docs' / 'bad_inputs.md').read_text(encoding='utf-8')
    cited = set(re.findall(r'`(test_\w+)`', table))
    assert len(cited) > 20, cited
    defined = set()
    for path in (REPO / 'tests').rglob('test_*.py'):
        defined |= set(re.findall(r'^\s*def (test_\w+)\(', path.read_text(encoding='utf-8'),
                                  re.M))
    assert sorted(cited - defined) == []
