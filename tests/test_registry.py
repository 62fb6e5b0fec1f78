import importlib

import pytest
from mmengine.registry import DefaultScope, init_default_scope

import smplestx.registry as registry_module
from smplestx.registry import MODELS, REGISTRY_LOCATIONS

REGISTRIES = [
    getattr(registry_module, name) for name in registry_module.__all__
    if name != 'REGISTRY_LOCATIONS'
]

#: Names that must be registered once their locations are imported.
EXPECTED = {
    'runner': ['SMPLestXRunner'],
}


@pytest.mark.parametrize('registry', REGISTRIES, ids=lambda r: r.name)
def test_registry_is_scoped_child_with_importable_locations(registry):
    assert registry.scope == 'smplestx'
    assert registry.parent is not None and registry.parent.scope == 'mmengine'
    assert registry._locations == REGISTRY_LOCATIONS[registry.name]
    for location in registry._locations:
        importlib.import_module(location)
    registry.import_from_location()
    for name in EXPECTED.get(registry.name, []):
        assert registry.get(name) is not None, f'{name} missing from {registry.name}'


def test_public_import_line():
    from smplestx.registry import DATASETS, METRICS, TRANSFORMS  # noqa: F401


def test_type_strings_build_through_default_scope():
    with DefaultScope.overwrite_default_scope('smplestx'):
        init_default_scope('smplestx')
        runner_cls = registry_module.RUNNERS.get('SMPLestXRunner')
        assert runner_cls.__module__ == 'smplestx.engine.runner'
        # a type string unknown to smplestx falls back to MMEngine's root registry
        linear = MODELS.build(dict(type='mmengine.model.BaseModule'))
        assert linear is not None
