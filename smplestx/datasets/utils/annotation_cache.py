"""On-disk cache of processed annotation tables, memory-mapped when loaded.

A cache entry is a folder ``<cache_dir>/<name>-<key>/`` with one ``.npy`` file per column
and a ``meta.json`` written last (an entry without it is incomplete and is rebuilt; so is
one whose files are damaged: unreadable, truncated or of different lengths). The key
hashes the annotation file's **content** (SHA-256), every option that changes the table and
the code version (:data:`TABLE_FORMAT_VERSION` and the package version), so a stale entry
can never match: changing any of them makes a new key, and the old entry is left unused.

This fixes the official ``Cache``, whose file name depended only on the dataset and split,
so a cache built with other sample intervals, box ratios or code was silently reused.
"""

import hashlib
import json
import os
import os.path as osp
import shutil
import uuid
from typing import Dict, Optional, Tuple

import numpy as np

from smplestx.version import __version__

#: Bump whenever the table layout or the processing in ``annotation_table`` changes.
TABLE_FORMAT_VERSION = 1


def make_cache_key(content_hash: str, options: dict, code_version: Optional[str] = None
                   ) -> str:
    """Hash of the annotation content, the table options and the code version.

    Args:
        content_hash: SHA-256 of the annotation file.
        options: JSON-serialisable options that change the table.
        code_version: Version string; defaults to the table format and package versions.

    Returns:
        A 20-character hex key.
    """
    version = code_version or f'table{TABLE_FORMAT_VERSION}-smplestx{__version__}'
    blob = json.dumps(dict(content=content_hash, options=options, version=version),
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class AnnotationCache:
    """A folder of cached annotation tables.

    Args:
        cache_dir: Where the entries live (created on demand).
    """

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = str(cache_dir)

    def entry_dir(self, name: str, key: str) -> str:
        """Folder of the entry ``name``/``key``."""
        return osp.join(self.cache_dir, f'{name}-{key}')

    def load(self, name: str, key: str) -> Optional[Tuple[Dict[str, np.ndarray], dict]]:
        """Memory-map a complete, valid entry, or return ``None`` (see :meth:`inspect`)."""
        return self.inspect(name, key)[0]

    def inspect(self, name: str, key: str
                ) -> Tuple[Optional[Tuple[Dict[str, np.ndarray], dict]], Optional[str]]:
        """Memory-map an entry and say what is wrong with it when it cannot be used.

        An entry is valid when ``meta.json`` (written last) parses and names this key, and
        every column it lists is a readable ``.npy`` file of the full size, all with one
        row per sample.

        Args:
            name: Readable prefix (the dataset name).
            key: The cache key.

        Returns:
            ``((columns, info), None)`` with read-only memory-mapped columns;
            ``(None, None)`` when there is no entry (or an incomplete one, still without
            ``meta.json``); ``(None, problem)`` for an entry that is there but unusable.
        """
        folder = self.entry_dir(name, key)
        meta_path = osp.join(folder, 'meta.json')
        if not osp.isfile(meta_path):
            return None, None
        try:
            with open(meta_path, encoding='utf-8') as f:
                meta = json.load(f)
            if not isinstance(meta, dict) or meta.get('key') != key or not isinstance(
                    meta.get('info'), dict):
                return None, 'meta.json does not describe this entry'
            info = meta['info']
            names = list(meta['columns'])
        except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            return None, f'meta.json: {type(err).__name__}: {err}'
        columns = {}
        for col in names:
            try:
                columns[col] = np.load(osp.join(folder, f'{col}.npy'), mmap_mode='r',
                                       allow_pickle=False)
            except (OSError, ValueError, TypeError) as err:
                return None, f'{col}.npy: {type(err).__name__}: {err}'
        rows = {len(col) if col.ndim else -1 for col in columns.values()}
        expected = info.get('num_kept')
        if len(rows) != 1 or (expected is not None and rows != {expected}):
            return None, (f'its columns hold {sorted(rows)} rows where {expected} samples '
                          f'were cached')
        return (columns, info), None

    def save(self, name: str, key: str, columns: Dict[str, np.ndarray], info: dict) -> str:
        """Write an entry atomically (temporary folder, then rename).

        A valid entry written meanwhile by another process is kept; an incomplete or
        unusable one is moved aside and replaced.

        Args:
            name: Readable prefix (the dataset name).
            key: The cache key.
            columns: The table.
            info: JSON-serialisable build information.

        Returns:
            The entry folder.
        """
        folder = self.entry_dir(name, key)
        tmp = f'{folder}.tmp-{uuid.uuid4().hex[:8]}'
        os.makedirs(tmp, exist_ok=True)
        try:
            for col, arr in columns.items():
                np.save(osp.join(tmp, f'{col}.npy'), np.ascontiguousarray(arr),
                        allow_pickle=False)
            with open(osp.join(tmp, 'meta.json'), 'w') as f:
                json.dump(dict(key=key, columns=sorted(columns), info=info), f, indent=1)
            if self.load(name, key) is not None:
                shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
                return folder
            if osp.isdir(folder):  # incomplete or unusable: move it out of the way
                stale = f'{folder}.stale-{uuid.uuid4().hex[:8]}'
                try:
                    os.rename(folder, stale)
                except FileNotFoundError:
                    pass  # another process moved it
                shutil.rmtree(stale, ignore_errors=True)
            try:
                os.replace(tmp, folder)
            except OSError:
                if self.load(name, key) is None:  # not a concurrent valid entry
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder
