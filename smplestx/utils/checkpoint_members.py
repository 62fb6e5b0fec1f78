"""Which members of a zip-format torch checkpoint hold its weights.

A ``torch.save`` archive keeps the pickled object in ``<prefix>/data.pkl`` and every tensor
storage in its own member ``<prefix>/data/<key>``. The released SMPLest-X file holds the
network (2.75 GB) and two Adam moments per weight (5.5 GB) that inference never reads, so
checking the CRC of the members a model load uses costs a third of checking them all.

:func:`weight_members` reads ``data.pkl`` with an unpickler that never creates the file's
objects: every global it names becomes an inert placeholder that only records its arguments,
and every storage reference becomes its record key. The keys reached from the weights
(``network`` of an official checkpoint, ``state_dict`` of an MMEngine one, or the whole object
for a bare state dict) name the members to check.
"""

import collections
import pickle
import zipfile
from typing import Any, Iterator, List, Optional, Set

#: Top-level entries holding the weights, in the order they are looked for.
WEIGHT_ENTRIES = ('network', 'state_dict')


class _StorageRef:
    """A storage of the archive, by its record key."""

    def __init__(self, key: str) -> None:
        self.key = key


class _Inert:
    """Stands for any global of the pickle: keeps what it is called or built with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.parts: List[Any] = [args, kwargs]

    def __setstate__(self, state: Any) -> None:
        self.parts.append(state)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.parts.append((key, value))

    def append(self, value: Any) -> None:
        self.parts.append(value)

    def extend(self, values: Any) -> None:
        self.parts.extend(values)


class _KeyScanner(pickle.Unpickler):
    """Unpickles the structure only: no global of the file is imported or called."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ('collections', 'OrderedDict'):
            return collections.OrderedDict
        return _Inert

    def persistent_load(self, pid: Any) -> _StorageRef:
        # torch writes ('storage', storage_type, key, location, numel).
        return _StorageRef(str(pid[2]))


def _refs(node: Any, seen: Set[int]) -> Iterator[_StorageRef]:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, _StorageRef):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _refs(value, seen)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _refs(value, seen)
    elif isinstance(node, _Inert):
        yield from _refs(node.parts, seen)


def weight_members(path: str) -> Optional[Set[str]]:
    """The archive members a load of the weights of ``path`` reads.

    Args:
        path: A zip-format torch checkpoint.

    Returns:
        Every member that is not a tensor storage (``data.pkl``, version records) plus the
        storages of the weights; ``None`` when the layout is not recognised (then every member
        should be checked).
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
        if len(pickles) != 1:
            return None
        prefix = pickles[0][:-len('data.pkl')]
        try:
            with archive.open(pickles[0]) as f:
                root = _KeyScanner(f).load()
        except Exception:  # noqa: BLE001 - any unreadable structure: check everything
            return None
    weights = root
    if isinstance(root, dict):
        weights = next((root[k] for k in WEIGHT_ENTRIES if isinstance(root.get(k), dict)), root)
    keys = {ref.key for ref in _refs(weights, set())}
    storage_prefix = f'{prefix}data/'
    return {n for n in names if not n.startswith(storage_prefix)} | \
        {f'{storage_prefix}{key}' for key in keys}
