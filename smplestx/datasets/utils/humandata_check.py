"""A structural check of HumanData files: missing keys, shapes, NaNs, image files."""

import dataclasses
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from .humandata_io import (
    BODY_MODEL_KEYS,
    KPS2D_KEYS,
    KPS3D_KEYS,
    REQUIRED_KEYS,
    HumanDataFile,
    MalformedHumanDataError,
    first_present,
)

#: Expected trailing shapes of the SMPL-X parameters (values per sample).
SMPLX_PARAM_SIZES = dict(global_orient=3, body_pose=63, left_hand_pose=45, right_hand_pose=45,
                         jaw_pose=3, betas=10, expression=10, transl=3)
_OPTIONAL_SMPLX = ('left_hand_pose', 'right_hand_pose', 'jaw_pose', 'expression')


@dataclasses.dataclass
class HumanDataReport:
    """What :func:`check_humandata` found.

    Attributes:
        path: The checked file.
        num_samples: Number of samples (length of ``image_path``), -1 if unknown.
        errors: Problems that stop :class:`~smplestx.datasets.HumanDataset` from loading.
        warnings: Problems that lose data or differ from the official expectations.
        keys: ``key -> 'shape dtype'`` for every member (dict members list their entries).
        nan_counts: Samples with at least one NaN, per array (body-model parameters with
            NaNs also get a warning listing the rows).
    """

    path: str
    num_samples: int = -1
    errors: List[str] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    keys: Dict[str, str] = dataclasses.field(default_factory=dict)
    nan_counts: Dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def format(self) -> str:
        """A human-readable multi-line report."""
        lines = [f'HumanData file: {self.path}', f'samples: {self.num_samples}', 'keys:']
        lines += [f'  {k}: {v}' for k, v in sorted(self.keys.items())]
        if self.nan_counts:
            lines.append('samples with NaN: ' + ', '.join(
                f'{k}={v}' for k, v in sorted(self.nan_counts.items())))
        lines += [f'ERROR: {e}' for e in self.errors]
        lines += [f'WARNING: {w}' for w in self.warnings]
        if not self.ok:
            lines.append(f'{len(self.errors)} error(s)')
        else:
            lines.append(f'OK ({len(self.warnings)} warning(s))' if self.warnings else 'OK')
        return '\n'.join(lines)


def _describe(value: object) -> str:
    arr = np.asarray(value) if not isinstance(value, (dict, list)) else None
    if arr is None:
        return type(value).__name__ + (f'[{len(value)}]' if isinstance(value, list) else '')
    return f'{tuple(arr.shape)} {arr.dtype}'


def _count_nan(report: HumanDataReport, name: str, value: object, num: int) -> np.ndarray:
    """Count the samples of ``value`` with a NaN; return their row indices."""
    arr = np.asarray(value)
    if arr.dtype.kind != 'f' or arr.ndim == 0 or arr.shape[0] != num:
        return np.zeros(0, np.int64)
    rows = np.flatnonzero(np.isnan(arr.reshape(num, -1)).any(axis=1))
    if rows.size:
        report.nan_counts[name] = int(rows.size)
    return rows


def _listed_rows(rows: np.ndarray, limit: int = 10) -> str:
    shown = ', '.join(str(int(r)) for r in rows[:limit])
    return shown + (f', ... (+{rows.size - limit} more)' if rows.size > limit else '')


def _check_rows(report: HumanDataReport, name: str, value: object, num: int) -> bool:
    arr = np.asarray(value)
    if arr.ndim == 0 or arr.shape[0] != num:
        report.errors.append(f'{name} has shape {arr.shape}; expected {num} rows')
        return False
    return True


def check_humandata(path: str, img_dir: Optional[str] = None,
                    allow_unsafe_pickle: bool = False) -> HumanDataReport:
    """Check a HumanData ``.npz`` for what SMPLest-X needs.

    Args:
        path: The file.
        img_dir: When given, also check that every ``image_path`` exists under it.
        allow_unsafe_pickle: Unpickle object members without the allow-list.

    Returns:
        The report; ``report.ok`` is False when the dataset would not load.
    """
    report = HumanDataReport(path=str(path))
    try:
        data = HumanDataFile(path, allow_unsafe_pickle)
    except (OSError, MalformedHumanDataError) as err:
        report.errors.append(str(err))
        return report
    with data:
        try:
            _check(data, report, img_dir)
        except MalformedHumanDataError as err:
            report.errors.append(str(err))
    return report


def _check(data: HumanDataFile, report: HumanDataReport, img_dir: Optional[str]) -> None:
    for key in data.keys:
        shape, dtype = data.member_info(key)
        report.keys[key] = f'{shape} {dtype}'
    for key in REQUIRED_KEYS:
        if key not in data:
            report.errors.append(f'missing required key {key!r}')
    num = len(data.array('image_path')) if 'image_path' in data else -1
    report.num_samples = num
    if num < 0:
        return
    if 'bbox_xywh' in data and _check_rows(report, 'bbox_xywh', data.array('bbox_xywh'), num):
        bbox = np.asarray(data.array('bbox_xywh'), np.float64)
        if bbox.ndim != 2 or bbox.shape[1] < 4:
            report.errors.append(f'bbox_xywh has shape {bbox.shape}; expected ({num}, 5)')
        else:
            _count_nan(report, 'bbox_xywh', bbox, num)
            empty = int(((bbox[:, 2] <= 1) | (bbox[:, 3] <= 1)).sum())
            if empty:
                report.warnings.append(f'{empty} body boxes have width or height <= 1 '
                                       f'(skipped by the loader)')
    _check_keypoints(data, report, num)
    _check_body_model(data, report, num)
    _check_meta(data, report, num)
    if img_dir is not None and 'image_path' in data:
        paths = np.asarray(data.array('image_path')).astype(str)
        missing = [p for p in paths if not osp.isfile(osp.join(img_dir, p.lstrip('/')))]
        if missing:
            report.errors.append(f'{len(missing)} image files missing under {img_dir}, e.g. '
                                 f'{missing[0]}')


def _check_keypoints(data: HumanDataFile, report: HumanDataReport, num: int) -> None:
    if '__keypoints_compressed__' not in data:
        report.warnings.append("missing '__keypoints_compressed__' (read as False; the "
                               'official loader raises KeyError)')
    compressed = data.flag('__keypoints_compressed__')
    key2d = first_present(data, KPS2D_KEYS)
    if key2d is None:
        report.errors.append(f'no 2D keypoints: none of {list(KPS2D_KEYS)}')
    if first_present(data, KPS3D_KEYS) is None:
        report.warnings.append(f'no 3D keypoints (none of {list(KPS3D_KEYS)}): samples get '
                               f'is_3D = 0')
    for key in KPS2D_KEYS + KPS3D_KEYS:
        if key not in data:
            continue
        arr = data.array(key)
        dims = 2 if key in KPS2D_KEYS else 3
        if arr.ndim != 3 or arr.shape[2] < dims:
            report.errors.append(f'{key} has shape {arr.shape}; expected (N, K, >={dims})')
            continue
        _check_rows(report, key, arr, num)
        mask_key = next((m for m in (f'{key}_mask', f'keypoints{dims}d_mask') if m in data),
                        None)
        mask = None if mask_key is None else np.asarray(data.array(mask_key)).reshape(-1)
        if mask is None:
            report.warnings.append(f'{key} has no mask ({key}_mask or keypoints{dims}d_mask); '
                                   f'all joints count as valid')
        full = mask.shape[0] if mask is not None else arr.shape[1]
        if compressed and mask is not None and arr.shape[1] != full \
                and int(mask.sum()) != arr.shape[1]:
            report.errors.append(f'{key} is compressed to {arr.shape[1]} joints but its mask '
                                 f'selects {int(mask.sum())}')
        if not compressed and mask is not None and mask.shape[0] != arr.shape[1]:
            report.errors.append(f'{mask_key} has {mask.shape[0]} entries for {arr.shape[1]} '
                                 f'keypoints')
        if full < 144:
            report.errors.append(f'{key} has {full} keypoints; SMPLest-X needs the 144/190 '
                                 f'SMPL-X convention')
        _count_nan(report, key, arr[..., :dims], num)
        data.drop(key)


def _check_body_model(data: HumanDataFile, report: HumanDataReport, num: int) -> None:
    model = first_present(data, BODY_MODEL_KEYS)
    if model is None:
        report.errors.append(f'no body-model parameters: none of {list(BODY_MODEL_KEYS)}')
        return
    params = data.dict(model)
    for key, value in params.items():
        report.keys[f'{model}.{key}'] = _describe(value)
    required = ('global_orient', 'body_pose') if model != 'smplx' else \
        tuple(k for k in SMPLX_PARAM_SIZES if k not in _OPTIONAL_SMPLX)
    for key in required:
        if key not in params:
            report.errors.append(f'{model} is missing {key!r}')
    for key, size in SMPLX_PARAM_SIZES.items():
        if key not in params:
            if model == 'smplx' and key in _OPTIONAL_SMPLX:
                report.warnings.append(f'smplx has no {key!r}: that part is unsupervised')
            continue
        arr = np.asarray(params[key])
        if not _check_rows(report, f'{model}.{key}', arr, num):
            continue
        if model == 'smplx' and arr.reshape(num, -1).shape[1] < size:
            report.errors.append(f'smplx.{key} has {arr.reshape(num, -1).shape[1]} values per '
                                 f'sample; expected >= {size}')
        rows = _count_nan(report, f'{model}.{key}', arr, num)
        if rows.size:
            report.warnings.append(
                f'{report.path}: {model}.{key} is NaN in {rows.size} sample(s), rows '
                f'{_listed_rows(rows)}: training masks that part, evaluation (test_mode) '
                f'leaves these samples out')


def _check_meta(data: HumanDataFile, report: HumanDataReport, num: int) -> None:
    if 'meta' not in data:
        report.warnings.append('no meta: set img_shape in the dataset config')
        return
    meta = data.dict('meta')
    for key, value in meta.items():
        report.keys[f'meta.{key}'] = _describe(value)
    if not ('height' in meta and 'width' in meta):
        report.warnings.append('meta has no height/width: set img_shape in the dataset config')
    for key in ('height', 'width', 'annot_valid', 'iscrowd', 'num_keypoints', 'valid_label'):
        if key in meta and np.asarray(meta[key]).ndim and len(meta[key]) != num:
            report.errors.append(f'meta.{key} has {len(meta[key])} entries; expected {num}')
    if 'misc' in data:
        misc = data.dict('misc')
        if 'flat_hand_mean' in misc:
            report.warnings.append(f'misc.flat_hand_mean = {misc["flat_hand_mean"]}: set '
                                   f'flat_hand_mean accordingly in the dataset config')
