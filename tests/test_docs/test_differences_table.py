"""Every test that docs/differences_from_official.md cites exists.

Cells cite ``path.py::name`` (relative to ``tests/``), a bare ``path.py``, or ``::name`` for
another test of the file cited just before it in the same cell.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / 'docs' / 'differences_from_official.md'
CITATION = re.compile(r'`((?:test_\w+/)*test_\w+\.py)?(?:::(\w+)(?:\[[^\]`]*\])?)?`')


def cited_tests():
    """``(row, file, function or None)`` for every citation in the table rows."""
    found = []
    for row in PAGE.read_text().splitlines():
        if not row.startswith('|'):
            continue
        last_file = None
        for match in CITATION.finditer(row):
            path, name = match.groups()
            if path is None and name is None:
                continue
            if path is not None:
                last_file = path
            assert last_file is not None, f'"::{name}" has no file before it in: {row[:80]}'
            found.append((row[:60], last_file, name))
    return found


def test_every_cited_test_exists():
    citations = cited_tests()
    assert len(citations) >= 40, len(citations)
    missing = []
    for row, path, name in citations:
        test_file = REPO / 'tests' / path
        if not test_file.is_file():
            missing.append(f'{path} (row "{row}")')
        elif name is not None and not re.search(rf'^\s*def {name}\(', test_file.read_text(),
                                                re.MULTILINE):
            missing.append(f'{path}::{name} (row "{row}")')
    assert not missing, 'cited but not found:\n' + '\n'.join(missing)
