"""Registries of smplestx.

Every registry is a child of the MMEngine root registry of the same kind, lives in the
``smplestx`` scope and imports its modules lazily from ``locations`` the first time a
name is looked up. Backbones, heads, body models, losses, data preprocessors and
estimators all live in :data:`MODELS`; the sub-packages only order the files.

Build through the registry with ``default_scope='smplestx'`` (set in
``configs/_base_/default_runtime.py``) or call
:func:`mmengine.registry.init_default_scope` first.
"""

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS', 'REGISTRY_LOCATIONS'
]

#: The modules each registry imports on first use; also walked by the tests.
REGISTRY_LOCATIONS = {
    'runner': ['smplestx.engine'],
    'loop': ['smplestx.engine'],
    'hook': ['smplestx.engine.hooks'],
    'dataset': ['smplestx.datasets'],
    'data sampler': ['smplestx.datasets.samplers'],
    'transform': ['smplestx.datasets.transforms'],
    'model': ['smplestx.models'],
    'model_wrapper': ['smplestx.models'],
    'weight initializer': ['smplestx.models'],
    'optimizer': ['smplestx.engine'],
    'optim_wrapper': ['smplestx.engine'],
    'optimizer wrapper constructor': ['smplestx.engine'],
    'parameter scheduler': ['smplestx.engine'],
    'metric': ['smplestx.evaluation.metrics'],
    'evaluator': ['smplestx.evaluation'],
    'visualizer': ['smplestx.visualization'],
    'vis_backend': ['smplestx.visualization'],
    'log_processor': ['smplestx.engine'],
    'inferencer': ['smplestx.apis'],
}


def _child(name: str, parent: Registry) -> Registry:
    return Registry(name, parent=parent, scope='smplestx',
                    locations=REGISTRY_LOCATIONS[name])


RUNNERS = _child('runner', MMENGINE_RUNNERS)
LOOPS = _child('loop', MMENGINE_LOOPS)
HOOKS = _child('hook', MMENGINE_HOOKS)
DATASETS = _child('dataset', MMENGINE_DATASETS)
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS)
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS)
MODELS = _child('model', MMENGINE_MODELS)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)
METRICS = _child('metric', MMENGINE_METRICS)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS)
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS)
