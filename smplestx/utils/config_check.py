"""Read and check a config before anything is built: syntax, unknown keys, misspelt overrides.

:func:`read_config` turns a config that cannot be read (a syntax error, failing code) into
one :class:`ConfigError` line naming the file.

MMEngine builds each part of a config when it is first needed, so a misspelt keyword
(``default_hooks.checkpoint.intervall=5``) surfaces only when that part is built or, for
keywords a class stores for later, when it is used: after a whole training epoch.
:func:`check_config` compares every ``type=...`` dict at the places the Runner builds
from (hooks, model, datasets, transforms, samplers, dataloaders, metrics, loops,
optimizer and schedulers) with the constructor signature of its registered class, and
:func:`check_cfg_options` refuses ``--cfg-options`` that would add a top-level name the
Runner never reads. Both raise :class:`ConfigError` with one line naming the key, the
class and the closest accepted name.

A class whose constructor takes ``**kwargs`` without a base class that names them is not
checked (nothing reliable is known about what it accepts).
"""

import difflib
import inspect
import re
from typing import Any, Callable, Dict, FrozenSet, Iterable, Iterator, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import Registry

from smplestx import registry as reg


class ConfigError(ValueError):
    """A config key that nothing accepts, or a config that cannot be read."""


#: Top-level names the Runner (``Runner.from_cfg``/``SMPLestXRunner``) and the tools read.
RUNNER_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'runner_type', 'model_wrapper_cfg',
    'find_unused_parameters', 'compile', 'strategy', 'custom_imports', 'gpu_ids'))

#: Keys MMEngine's builders consume before calling the class (besides ``type``).
_BUILDER_KEYS = frozenset(('type', '_scope_'))
_SCHEDULER_KEYS = frozenset(('convert_to_iter_based', ))
_OPTIM_WRAPPER_KEYS = frozenset(('optimizer', 'constructor', 'paramwise_cfg'))
_LOADER_KEYS = frozenset(('dataset', 'sampler', 'batch_sampler', 'collate_fn',
                          'worker_init_fn', 'num_batch_per_epoch'))

#: ``**kwargs`` that a class stores and passes on later: class name -> accepted names.
#: MMEngine's ``CheckpointHook`` hands its extra keywords to ``Runner.save_checkpoint``,
#: which already gets all of its arguments but ``meta``.
_FORWARDED_KWARGS: Dict[str, FrozenSet[str]] = {'CheckpointHook': frozenset(('meta', ))}


def accepted_keywords(target: Any) -> Optional[FrozenSet[str]]:
    """Keyword names a class (or function) accepts, or None when any name may be.

    Follows ``**kwargs`` up the class hierarchy: a subclass that passes them on accepts
    its own names plus those of the first base constructor without ``**kwargs``.
    """
    names = set()
    classes = inspect.getmro(target) if inspect.isclass(target) else (target, )
    for klass in classes:
        if inspect.isclass(target):
            if klass is object:
                break
            init = klass.__dict__.get('__init__')
            if init is None:
                continue
        else:
            init = klass
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        names.update(p.name for p in params
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return frozenset(names - {'self'})
        if klass.__name__ in _FORWARDED_KWARGS:
            return frozenset(names - {'self'}) | _FORWARDED_KWARGS[klass.__name__]
    return None


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f' (did you mean {close[0]!r}?)' if close else ''


def _resolve(registry: Registry, kind: Any) -> Optional[Callable]:
    if callable(kind):
        return kind
    try:
        return registry.get(kind)
    except (KeyError, TypeError, ValueError):
        return None


def check_keys(where: str, cfg: Any, registry: Registry, extra: Iterable[str] = (),
               kind: Any = None) -> None:
    """Raise :class:`ConfigError` for a key of ``cfg`` its class does not accept.

    Args:
        where: The config path of ``cfg`` for the message (e.g. ``default_hooks.checkpoint``).
        cfg: A dict with ``type`` (or the class given as ``kind``).
        registry: Where ``type`` is looked up.
        extra: Keys the builder consumes besides the constructor's own.
        kind: The class when ``cfg`` has no ``type`` (the builder's default).
    """
    if not isinstance(cfg, dict):
        return
    target = _resolve(registry, cfg.get('type', kind))
    if target is None:
        return
    accepted = accepted_keywords(target)
    if accepted is None:
        return
    allowed = accepted | _BUILDER_KEYS | frozenset(extra)
    for key in cfg:
        if key not in allowed:
            name = getattr(target, '__name__', str(target))
            raise ConfigError(f'config key {where}.{key}: {name} does not accept {key!r}'
                              f'{_suggest(key, accepted)}')


def _items(node: Any, where: str) -> Iterator[Tuple[str, Any]]:
    """``(path, item)`` of a list or of a dict of configs."""
    if isinstance(node, dict):
        yield from ((f'{where}.{k}', v) for k, v in node.items())
    elif isinstance(node, (list, tuple)):
        yield from ((f'{where}.{i}', v) for i, v in enumerate(node))


def _check_model(where: str, cfg: Any) -> None:
    """The model and every nested dict whose ``type`` is a registered model part."""
    if isinstance(cfg, dict) and _resolve(reg.MODELS, cfg.get('type')) is not None:
        check_keys(where, cfg, reg.MODELS)
    if isinstance(cfg, (dict, list, tuple)):
        for path, value in _items(cfg, where):
            if isinstance(value, (dict, list, tuple)):
                _check_model(path, value)


def _check_dataset(where: str, cfg: Any) -> None:
    """A dataset, its wrapped datasets and its pipeline."""
    if not isinstance(cfg, dict):
        return
    check_keys(where, cfg, reg.DATASETS)
    for path, transform in _items(cfg.get('pipeline') or [], f'{where}.pipeline'):
        check_keys(path, transform, reg.TRANSFORMS)
    if isinstance(cfg.get('dataset'), dict):
        _check_dataset(f'{where}.dataset', cfg['dataset'])
    for path, sub in _items(cfg.get('datasets') or [], f'{where}.datasets'):
        _check_dataset(path, sub)


def _check_dataloader(where: str, cfg: Any) -> None:
    from torch.utils.data import DataLoader

    if not isinstance(cfg, dict):
        return
    check_keys(where, cfg, reg.DATA_SAMPLERS, extra=_LOADER_KEYS, kind=DataLoader)
    _check_dataset(f'{where}.dataset', cfg.get('dataset'))
    for key in ('sampler', 'batch_sampler'):
        check_keys(f'{where}.{key}', cfg.get(key), reg.DATA_SAMPLERS, extra=('dataset', ))


def _check_evaluator(where: str, cfg: Any) -> None:
    if isinstance(cfg, dict) and 'metrics' in cfg:
        cfg = cfg['metrics']
        where = f'{where}.metrics'
    if isinstance(cfg, dict):
        check_keys(where, cfg, reg.METRICS)
    for path, metric in _items(cfg if isinstance(cfg, (list, tuple)) else [], where):
        check_keys(path, metric, reg.METRICS)


def _check_loops(cfg: Config) -> None:
    from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop

    train = cfg.get('train_cfg')
    if isinstance(train, dict):
        default = EpochBasedTrainLoop if train.get('by_epoch', True) else IterBasedTrainLoop
        extra = ('runner', 'dataloader') + (() if 'type' in train else ('by_epoch', ))
        check_keys('train_cfg', train, reg.LOOPS, extra=extra, kind=default)
    for name, default in (('val_cfg', ValLoop), ('test_cfg', TestLoop)):
        check_keys(name, cfg.get(name), reg.LOOPS, kind=default,
                   extra=('runner', 'dataloader', 'evaluator'))


def check_config(cfg: Config) -> None:
    """Check the keys of every part the Runner builds (see the module docstring).

    Raises:
        ConfigError: For the first key that the class it configures does not accept.
    """
    try:
        _check_parts(cfg)
    except ConfigError as err:
        raise ConfigError(f'{cfg.filename}: {err}' if cfg.filename else str(err)) from None


def _check_parts(cfg: Config) -> None:
    from mmengine.registry import init_default_scope

    init_default_scope(cfg.get('default_scope', 'smplestx'))
    for path, hook in _items(cfg.get('default_hooks') or {}, 'default_hooks'):
        check_keys(path, hook, reg.HOOKS)
    for path, hook in _items(cfg.get('custom_hooks') or [], 'custom_hooks'):
        check_keys(path, hook, reg.HOOKS)
    _check_model('model', cfg.get('model'))
    for split in ('train', 'val', 'test'):
        _check_dataloader(f'{split}_dataloader', cfg.get(f'{split}_dataloader'))
    for name in ('val_evaluator', 'test_evaluator'):
        _check_evaluator(name, cfg.get(name))
    _check_loops(cfg)
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'type' in wrapper:
        check_keys('optim_wrapper', wrapper, reg.OPTIM_WRAPPERS, extra=_OPTIM_WRAPPER_KEYS)
        check_keys('optim_wrapper.optimizer', wrapper.get('optimizer'), reg.OPTIMIZERS,
                   extra=('params', ))
    schedulers = cfg.get('param_scheduler')
    for path, sched in _items(schedulers if isinstance(schedulers, (list, tuple)) else
                              [schedulers], 'param_scheduler'):
        check_keys(path, sched, reg.PARAM_SCHEDULERS,
                   extra=_SCHEDULER_KEYS | {'optimizer', 'epoch_length'})


def read_config(path: str) -> Config:
    """``Config.fromfile`` with one-line errors for a config that cannot be read.

    Raises:
        ConfigError: For a syntax error (with its line) or an error while the config's
            Python code runs (an undefined name, a missing ``_base_`` key, ...).
    """
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        # MMEngine re-raises the parser's error with the file (maybe a _base_) in the text.
        cause = err.__context__ if isinstance(err.__context__, SyntaxError) else err
        named = re.search(r'config file (.+?): ', str(err))
        where = f' at line {cause.lineno}' if cause.lineno else ''
        raise ConfigError(f'config {named.group(1) if named else path} has a syntax '
                          f'error{where}: {cause.msg}') from None
    except (NameError, KeyError, AttributeError, TypeError, ImportError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise ConfigError(f'config {path} cannot be read: {type(err).__name__}: '
                          f'{detail}') from None


def check_cfg_options(cfg: Config, options: Optional[Dict[str, Any]]) -> None:
    """Refuse ``--cfg-options`` keys whose top-level name neither the config nor the Runner has.

    MMEngine would add such a key silently (``trian_cfg.max_epochs=3`` changes nothing).

    Raises:
        ConfigError: Naming the option and the closest existing name.
    """
    for key in options or {}:
        top = key.split('.', 1)[0]
        if top not in cfg and top not in RUNNER_KEYS:
            raise ConfigError(f'--cfg-options {key}: the config has no {top!r}'
                              f'{_suggest(top, set(cfg.keys()) | RUNNER_KEYS)}')
