"""Validation of ``model-index.yml`` and the per-algorithm ``metafile.yml`` files.

The schema follows OpenMMLab's model index (as read by mim and papers-with-code) with
the fields smplestx uses. :func:`validate_model_index` returns a list of problems; an
empty list means the index is valid.
"""

import os.path as osp
from typing import Any, Dict, List

import yaml

#: Metric names a metafile may report (paper and smplestx metrics, in mm).
KNOWN_METRICS = frozenset({
    'PVE-All', 'PA-PVE-All', 'PVE-Hands', 'PA-PVE-Hands', 'PVE-Face', 'PA-PVE-Face',
    'MPJPE-Body', 'PA-MPJPE-Body', 'MPJPE-Hands', 'PA-MPJPE-Hands', 'NMVE-All', 'NMJE-All',
    'MVE-All', 'MPJPE-All', 'MPE',
})
KNOWN_TASKS = frozenset({'Whole-body Human Mesh Recovery'})
_COLLECTION_KEYS = ('Name', 'Metadata', 'Paper', 'README', 'Code')
_MODEL_KEYS = ('Name', 'In Collection', 'Config', 'Metadata')


def _load_yaml(path: str) -> Any:
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def _check_config(root: str, config: str, where: str, problems: List[str]) -> None:
    path = osp.join(root, config)
    if not osp.isfile(path):
        problems.append(f'{where}: Config {config} does not exist')
        return
    from mmengine.config import Config
    try:
        Config.fromfile(path)
    except Exception as err:  # noqa: BLE001 - any load failure is a metafile problem
        problems.append(f'{where}: Config {config} does not load: {err}')


def _check_results(results: Any, where: str, problems: List[str]) -> None:
    if not isinstance(results, list):
        problems.append(f'{where}: Results must be a list')
        return
    for i, result in enumerate(results):
        tag = f'{where} Results[{i}]'
        for key in ('Task', 'Dataset', 'Metrics', 'Source'):
            if key not in result:
                problems.append(f'{tag}: missing {key}')
        if result.get('Task') not in KNOWN_TASKS:
            problems.append(f'{tag}: unknown Task {result.get("Task")!r}')
        for name, value in (result.get('Metrics') or {}).items():
            if name not in KNOWN_METRICS:
                problems.append(f'{tag}: unknown metric name {name!r}')
            if not isinstance(value, (int, float)):
                problems.append(f'{tag}: metric {name} must be a number, got {value!r}')


def validate_metafile(path: str, root: str) -> List[str]:
    """Check one metafile; paths inside it are relative to ``root``."""
    problems: List[str] = []
    data = _load_yaml(path) or {}
    collections = {c.get('Name') for c in data.get('Collections', [])}
    for i, coll in enumerate(data.get('Collections', [])):
        for key in _COLLECTION_KEYS:
            if key not in coll:
                problems.append(f'{path} Collections[{i}]: missing {key}')
        readme = coll.get('README')
        if readme and not osp.isfile(osp.join(root, readme)):
            problems.append(f'{path} Collections[{i}]: README {readme} does not exist')
    names = set()
    for i, model in enumerate(data.get('Models', [])):
        where = f'{path} Models[{i}] ({model.get("Name", "?")})'
        for key in _MODEL_KEYS:
            if key not in model:
                problems.append(f'{where}: missing {key}')
        if model.get('Name') in names:
            problems.append(f'{where}: duplicate model name')
        names.add(model.get('Name'))
        if model.get('In Collection') not in collections:
            problems.append(f'{where}: unknown collection {model.get("In Collection")!r}')
        if 'Config' in model:
            _check_config(root, model['Config'], where, problems)
        meta = model.get('Metadata') or {}
        for key in ('Parameters', 'FLOPs'):
            if key in meta and not isinstance(meta[key], int):
                problems.append(f'{where}: Metadata.{key} must be an integer')
        if 'Results' in model:
            _check_results(model['Results'], where, problems)
        converted = model.get('Converted From')
        if converted is not None and not {'Weights', 'Code'} <= set(converted):
            problems.append(f'{where}: Converted From needs Weights and Code')
    return problems


def validate_model_index(index_path: str) -> List[str]:
    """Check ``model-index.yml`` and every metafile it imports."""
    root = osp.dirname(osp.abspath(index_path))
    data: Dict[str, Any] = _load_yaml(index_path) or {}
    imports = data.get('Import')
    if not imports:
        return [f'{index_path}: no Import list']
    problems: List[str] = []
    for rel in imports:
        path = osp.join(root, rel)
        if not osp.isfile(path):
            problems.append(f'{index_path}: imported metafile {rel} does not exist')
            continue
        problems.extend(validate_metafile(path, root))
    return problems
