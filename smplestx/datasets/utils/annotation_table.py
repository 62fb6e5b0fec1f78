"""Turn a HumanData file into a compact column table of training/test samples (§5.1-§5.2).

The table is a dict of numpy arrays with one row per kept sample (no per-sample Python
objects), so it can be memory-mapped from the cache and shared by dataloader workers. All
steps are vectorised.

Per-dataset conventions are options (:class:`HumanDataOptions`) instead of class names.
Official behaviours that are fixed here:

* **Shared keypoint mask.** The official loader sets ``joint_valid = mask.reshape(-1, 1)``,
  a view of one array shared by all samples, and then writes the hand validity into it in
  place; every sample ends up with the hand validity of the *last* sample. Here each sample
  has its own row.
* **Talkshow right hand.** The official code sets the right-hand pose to the left-hand pose.
  Here the right hand is read from ``right_hand_pose`` for every dataset (flat poses are
  reshaped to ``(-1, 3)`` generically).
* **Hand validity with ``flat_hand_mean``.** The official code subtracts the hand mean before
  checking for an all-zero (missing) hand, so a missing hand becomes a valid ``-mean`` pose.
  Here validity is decided on the stored annotation.
* **NaN keypoints.** The official loader skips samples with NaN 3D keypoints but turns NaN 2D
  keypoints into zeros that stay valid. Here a NaN in the mapped 2D or 3D keypoints skips
  the sample; both counts are reported.
* **Hand keypoints forced valid.** The official loader sets the hand keypoints (and the
  wrist) valid whenever the hand pose is valid, even where the keypoint mask says they are
  not annotated (e.g. zeros padded by decompression). Here they are ``mask AND hand_valid``;
  ``official_hand_keypoint_validity=True`` restores the official rule.
* **Missing ``__keypoints_compressed__``** is read as ``False`` (the official loader raises a
  ``KeyError``), and a file without keypoint masks gets an all-ones mask.
"""

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from smplestx.structures.keypoint import (
    HANDS_MEAN_LEFT,
    HANDS_MEAN_RIGHT,
    LWRIST_IDX,
    RWRIST_IDX,
    SMPLX_137_FROM_HUMANDATA,
    SMPLX_137_PARTS,
)

from .bbox import sanitize_bboxes
from .humandata_io import (
    BODY_MODEL_KEYS,
    KPS2D_KEYS,
    KPS3D_KEYS,
    REQUIRED_KEYS,
    HumanDataFile,
    MalformedHumanDataError,
    decompress_keypoints,
    first_present,
    keypoint_mask,
)

GENDERS: Tuple[str, ...] = ('neutral', 'male', 'female')


@dataclasses.dataclass(frozen=True)
class HumanDataOptions:
    """Options that change the processed annotation table (all enter the cache key).

    Attributes:
        sample_interval: Keep sample ``i`` only if ``i % sample_interval == 0`` (the
            official ``{Name}_{train,test}_sample_interval``).
        img_shape: Default image size ``(H, W)`` when the file has no ``meta.height/width``.
        use_meta_img_shape: Read the per-sample size from ``meta`` (False for Hi4D).
        filter_annot_valid: Drop samples with ``meta.annot_valid == 0`` (AGORA).
        filter_crowd: Drop ``meta.iscrowd`` samples (UBody, MSCOCO).
        filter_zero_keypoints: Drop samples with ``meta.num_keypoints == 0`` (UBody, MSCOCO).
        filter_invalid_label: Drop samples with ``meta.valid_label == 0`` (UBody).
        skip_kids: Drop samples with non-zero ``smplx.betas_extra`` (AGORA kids).
        body_model_type: ``'auto'`` (smplx, else smpl, else smplh) or one of them.
        flat_hand_mean: The hand poses were annotated with ``flat_hand_mean=True``; subtract
            the SMPL-X hand mean (GTA-Human, SynBody, SynHand, CHI3D, FIT3D, HumanSC3D, MOYO,
            ARCTIC).
        zero_betas: Replace the shape by zeros (ARCTIC; implied by ``hand_only``, SMPL and
            SMPL-H annotations).
        use_betas_neutral: Use ``betas_neutral`` instead of ``betas`` when present.
        hand_only: Hand-only data with MANO roots (FreiHand, InterHand, BlurHand, HanCo):
            zero shape, root and body pose; ``lhand_root``/``rhand_root`` carry the hands.
        strip_leading_slash: Remove a leading ``/`` from image paths (MPI-INF-3DHP).
        camera_from_meta: Read per-sample ``meta.focal_length``/``principal_point`` (and
            ``R``/``T`` when present) as the camera of the SMPL-X ground truth.
        gendered_smplx: Use ``meta.gender`` for SMPL-X ground truth (the official code uses
            the neutral model for SMPL-X and the gender only for SMPL annotations).
        official_hand_keypoint_validity: Mark hand keypoints and wrists valid whenever the
            hand pose is valid, whatever the keypoint mask says (official behaviour).
        skip_nan_params: Drop samples with a NaN body-model parameter (evaluation: their
            ground-truth mesh is undefined). Training keeps them: the targets mask the
            parts with NaNs.
    """

    sample_interval: int = 1
    img_shape: Optional[Tuple[int, int]] = None
    use_meta_img_shape: bool = True
    filter_annot_valid: bool = True
    filter_crowd: bool = True
    filter_zero_keypoints: bool = True
    filter_invalid_label: bool = True
    skip_kids: bool = True
    body_model_type: str = 'auto'
    flat_hand_mean: bool = False
    zero_betas: bool = False
    use_betas_neutral: bool = True
    hand_only: bool = False
    strip_leading_slash: bool = False
    camera_from_meta: bool = False
    gendered_smplx: bool = False
    official_hand_keypoint_validity: bool = False
    skip_nan_params: bool = False

    def __post_init__(self) -> None:
        if int(self.sample_interval) < 1:
            raise ValueError(f'sample_interval must be >= 1, got {self.sample_interval}')
        if self.body_model_type not in ('auto', ) + BODY_MODEL_KEYS:
            raise ValueError(f'body_model_type must be auto/smplx/smpl/smplh, got '
                             f'{self.body_model_type!r}')
        if self.img_shape is not None:
            object.__setattr__(self, 'img_shape', tuple(int(v) for v in self.img_shape))


class _Skipper:
    """Applies skip masks in order and counts each reason once per sample."""

    def __init__(self, num: int) -> None:
        self.keep = np.ones(num, dtype=bool)
        self.counts: Dict[str, int] = {}

    def drop(self, reason: str, mask: np.ndarray) -> None:
        hit = self.keep & np.asarray(mask, dtype=bool)
        self.counts[reason] = self.counts.get(reason, 0) + int(hit.sum())
        self.keep &= ~hit


def _per_sample(value: object, num: int, name: str, source: str, width: int = 0) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0 or (width and arr.shape == (width, )) or arr.shape == (1, ):
        arr = np.broadcast_to(arr.reshape(-1) if width else arr.reshape(()),
                              (num, width) if width else (num, ))
    if arr.shape[0] != num:
        raise MalformedHumanDataError(f'{source}: {name} has {arr.shape[0]} rows, expected '
                                      f'{num} (one per image_path)')
    return arr


def _rows(data: HumanDataFile, key: str, num: int, min_cols: int = 0) -> np.ndarray:
    arr = data.array(key)
    if arr.ndim < 1 or arr.shape[0] != num or (min_cols and (arr.ndim < 2
                                                             or arr.shape[1] < min_cols)):
        raise MalformedHumanDataError(
            f'HumanData file {data.path}: {key!r} has shape {arr.shape}, expected ({num}, '
            f'{">=" + str(min_cols) if min_cols else "..."})')
    return arr


def _param(params: dict, key: str, num: int, source: str, joints: int = 0,
           dims: int = 0) -> Optional[np.ndarray]:
    if key not in params or params[key] is None:
        return None
    arr = np.asarray(params[key], dtype=np.float32)
    if arr.shape[0] != num:
        raise MalformedHumanDataError(f'{source}: {key} has {arr.shape[0]} rows, expected '
                                      f'{num}')
    if joints:
        arr = arr.reshape(num, -1, 3)
        if arr.shape[1] < joints:
            raise MalformedHumanDataError(f'{source}: {key} has {arr.shape[1]} joints, '
                                          f'expected >= {joints}')
        arr = arr[:, :joints]
    elif dims:
        arr = arr.reshape(num, -1)
        if arr.shape[1] < dims:
            raise MalformedHumanDataError(f'{source}: {key} has {arr.shape[1]} values, '
                                          f'expected >= {dims}')
        arr = arr[:, :dims]
    return arr


def _keypoints(data: HumanDataFile, num: int, compressed: bool, dims: int,
               keys: Tuple[str, ...], generic_mask: str
               ) -> Tuple[Optional[str], Optional[np.ndarray], Optional[np.ndarray]]:
    key = first_present(data, keys)
    if key is None:
        return None, None, None
    arr = data.array(key)
    source = f'{data.path}[{key}]'
    if arr.ndim != 3 or arr.shape[0] != num or arr.shape[2] < dims:
        raise MalformedHumanDataError(f'{source}: shape {arr.shape}, expected ({num}, K, '
                                      f'>={dims})')
    mask = keypoint_mask(data, key, generic_mask)
    if compressed:
        arr = decompress_keypoints(arr, mask, source)
    mapping = np.asarray(SMPLX_137_FROM_HUMANDATA)
    if arr.shape[1] <= mapping.max():
        raise MalformedHumanDataError(
            f'{source}: {arr.shape[1]} keypoints; SMPLest-X needs the 144/190-keypoint '
            f'SMPL-X convention')
    if mask is not None and mask.shape[0] != arr.shape[1]:
        raise MalformedHumanDataError(f'{source}: mask has {mask.shape[0]} entries for '
                                      f'{arr.shape[1]} keypoints')
    kps = arr[:, mapping, :dims].astype(np.float32)
    data.drop(key)
    return key, kps, None if mask is None else mask[mapping].astype(np.float32)


def _image_shapes(data: HumanDataFile, meta: dict, num: int, opts: HumanDataOptions
                  ) -> np.ndarray:
    if opts.use_meta_img_shape and 'height' in meta and 'width' in meta:
        h = _per_sample(meta['height'], num, 'meta.height', data.path)
        w = _per_sample(meta['width'], num, 'meta.width', data.path)
        return np.stack([h, w], axis=1).astype(np.int32)
    if opts.img_shape is None:
        raise MalformedHumanDataError(
            f'HumanData file {data.path} has no meta.height/width; set the img_shape option')
    return np.broadcast_to(np.asarray(opts.img_shape, np.int32), (num, 2))


def _camera(meta: dict, num: int, source: str) -> Dict[str, np.ndarray]:
    cams: Dict[str, np.ndarray] = {}
    for out, names in (('focal', ('focal_length', 'focal')),
                       ('princpt', ('principal_point', 'princpt'))):
        name = next((n for n in names if n in meta), None)
        if name is None:
            raise MalformedHumanDataError(f'{source}: camera_from_meta needs meta.{names[0]}')
        arr = np.asarray(meta[name], dtype=np.float32)
        if arr.ndim == 0 or arr.shape in ((1, ), (2, )):
            arr = np.broadcast_to(np.resize(arr.reshape(-1), 2), (num, 2))
        arr = arr.reshape(num, -1)
        cams[out] = (np.repeat(arr, 2, axis=1) if arr.shape[1] == 1 else arr[:, :2])
    if 'R' in meta and 'T' in meta:
        cams['cam_R'] = np.asarray(meta['R'], np.float32).reshape(num, 3, 3)
        cams['cam_t'] = np.asarray(meta['T'], np.float32).reshape(num, 3)
    return cams


def _genders(meta: dict, num: int, source: str) -> np.ndarray:
    raw = _per_sample(meta['gender'], num, 'meta.gender', source)
    names = np.char.lower(np.asarray(raw).astype(str))
    codes = np.zeros(num, dtype=np.uint8)
    for code, name in enumerate(GENDERS):
        codes[(names == name) | (names == name[0])] = code
    return codes


def build_annotation_table(path: str, options: HumanDataOptions,
                           allow_unsafe_pickle: bool = False
                           ) -> Tuple[Dict[str, np.ndarray], dict]:
    """Read a HumanData file and build the column table of kept samples.

    Args:
        path: The HumanData ``.npz``.
        options: Dataset conventions.
        allow_unsafe_pickle: See :class:`HumanDataFile`.

    Returns:
        ``(columns, info)``: arrays with one row per kept sample (see
        :class:`~smplestx.datasets.HumanDataset` for the names) and a JSON-able dict with
        ``model_type``, ``num_in_file``, ``num_kept`` and the per-reason ``skipped`` counts.

    Raises:
        MalformedHumanDataError: Naming the file and the key for a missing or malformed key.
    """
    with HumanDataFile(path, allow_unsafe_pickle) as data:
        for key in REQUIRED_KEYS:
            if key not in data:
                raise MalformedHumanDataError(
                    f'HumanData file {path} is missing required key {key!r} (present: '
                    f'{sorted(data.keys)})')
        if first_present(data, KPS2D_KEYS) is None:
            raise MalformedHumanDataError(
                f'HumanData file {path} is missing 2D keypoints: none of {list(KPS2D_KEYS)}')
        image_path = np.asarray(data.array('image_path')).astype(str)
        num = image_path.shape[0]
        meta = data.dict('meta') if 'meta' in data else {}
        cols: Dict[str, np.ndarray] = {}
        skip = _Skipper(num)

        if options.filter_annot_valid and 'annot_valid' in meta:
            valid = _per_sample(meta['annot_valid'], num, 'meta.annot_valid', path)
            skip.drop('annot_invalid', ~valid.astype(bool))
        if options.filter_crowd and 'iscrowd' in meta:
            skip.drop('crowd', _per_sample(meta['iscrowd'], num, 'meta.iscrowd', path))
        if options.filter_zero_keypoints and 'num_keypoints' in meta:
            nk = _per_sample(meta['num_keypoints'], num, 'meta.num_keypoints', path)
            skip.drop('zero_keypoints', np.asarray(nk) == 0)
        if options.filter_invalid_label and 'valid_label' in meta:
            vl = _per_sample(meta['valid_label'], num, 'meta.valid_label', path)
            skip.drop('invalid_label', np.asarray(vl) == 0)
        skip.drop('sample_interval', np.arange(num) % int(options.sample_interval) != 0)

        img_shape = _image_shapes(data, meta, num, options)
        bbox = _rows(data, 'bbox_xywh', num, 4)[:, :4].astype(np.float32)
        _, bbox_ok = sanitize_bboxes(bbox, img_shape[:, 1], img_shape[:, 0])
        skip.drop('invalid_bbox', ~bbox_ok)

        model_type = options.body_model_type
        if model_type == 'auto':
            model_type = first_present(data, BODY_MODEL_KEYS)
        if model_type is None or model_type not in data:
            raise MalformedHumanDataError(
                f'HumanData file {path} is missing body-model parameters: none of '
                f'{list(BODY_MODEL_KEYS) if options.body_model_type == "auto" else [model_type]}')
        params = data.dict(model_type)
        source = f'{path}[{model_type}]'
        if options.skip_kids and params.get('betas_extra') is not None:
            extra = np.asarray(params['betas_extra']).reshape(num, -1)
            skip.drop('kids', (extra != 0).any(axis=1))

        if options.skip_nan_params:
            skip.drop('nan_params', _nan_param_rows(params, num))
        compressed = data.flag('__keypoints_compressed__')
        _, kps3d, mask3d = _keypoints(data, num, compressed, 3, KPS3D_KEYS, 'keypoints3d_mask')
        _, kps2d, mask2d = _keypoints(data, num, compressed, 2, KPS2D_KEYS, 'keypoints2d_mask')
        if kps3d is not None:
            skip.drop('nan_keypoints3d', np.isnan(kps3d).any(axis=(1, 2)))
        skip.drop('nan_keypoints2d', np.isnan(kps2d).any(axis=(1, 2)))
        keep = np.flatnonzero(skip.keep)
        mask = mask3d if mask3d is not None else mask2d
        if mask is None:
            mask = np.ones(len(SMPLX_137_FROM_HUMANDATA), np.float32)

        paths = image_path[keep]
        if options.strip_leading_slash:
            paths = np.char.lstrip(paths, '/')
        cols['img_id'] = keep.astype(np.int64)
        cols['image_path'] = paths
        cols['img_shape'] = np.ascontiguousarray(img_shape[keep])
        cols['bbox'] = bbox[keep]
        cols['keypoints_2d'] = kps2d[keep]
        del kps2d
        if kps3d is not None:
            cols['keypoints_3d'] = kps3d[keep]
            del kps3d
        cols.update(_smplx_columns(params, model_type, keep, num, options, source))
        if 'gender' in meta and (model_type == 'smpl' or options.gendered_smplx):
            cols['gender'] = _genders(meta, num, path)[keep]
        if options.camera_from_meta:
            cols.update({k: np.ascontiguousarray(v[keep])
                         for k, v in _camera(meta, num, path).items()})
        for key in ('lhand_bbox_xywh', 'rhand_bbox_xywh', 'face_bbox_xywh'):
            if key in data:
                part = _rows(data, key, num, 4)[keep].astype(np.float32)
                if part.shape[1] == 4:
                    part = np.concatenate([part, np.ones_like(part[:, :1])], axis=1)
                cols[key.replace('_xywh', '')] = np.ascontiguousarray(part[:, :5])
        if 'vertices3d_path' in data:
            cols['vertices3d_path'] = np.asarray(data.array('vertices3d_path')).astype(
                str)[keep]

        valid = np.repeat(mask[None], keep.size, axis=0)
        for part, wrist, flag in (('lhand', LWRIST_IDX, 'lhand_valid'),
                                  ('rhand', RWRIST_IDX, 'rhand_valid')):
            value = cols[flag].astype(np.float32)[:, None]
            idx = list(SMPLX_137_PARTS[part]) + [wrist]
            if options.official_hand_keypoint_validity:
                valid[:, idx] = value
            else:
                valid[:, idx] *= value
        cols['keypoints_valid'] = valid.astype(np.uint8)

    info = dict(model_type=model_type, num_in_file=int(num), num_kept=int(keep.size),
                skipped=skip.counts, keypoints_compressed=compressed)
    if options.skip_nan_params:
        info['nan_param_rows'] = np.flatnonzero(_nan_param_rows(params, num))[:20].tolist()
    return cols, info


#: Body-model parameters whose NaNs make the ground-truth mesh undefined.
_MESH_PARAMS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
                'betas', 'expression', 'transl')


def _nan_param_rows(params: dict, num: int) -> np.ndarray:
    """``(num,)`` bool: the samples with a NaN in any mesh parameter."""
    rows = np.zeros(num, dtype=bool)
    for key in _MESH_PARAMS:
        arr = params.get(key)
        arr = None if arr is None else np.asarray(arr)
        if arr is not None and arr.dtype.kind == 'f' and arr.ndim and arr.shape[0] == num:
            rows |= np.isnan(arr.reshape(num, -1)).any(axis=1)
    return rows


def _smplx_columns(params: dict, model_type: str, keep: np.ndarray, num: int,
                   opts: HumanDataOptions, source: str) -> Dict[str, np.ndarray]:
    """SMPL-X parameter columns (``smplx`` names) plus validity flags for the kept rows."""
    m = keep.size

    def get(key: str, joints: int = 0, dims: int = 0) -> Optional[np.ndarray]:
        arr = _param(params, key, num, source, joints, dims)
        return None if arr is None else np.ascontiguousarray(arr[keep])

    zeros = np.zeros
    cols: Dict[str, np.ndarray] = {}
    root = get('global_orient', dims=3)
    cols['global_orient'] = root if root is not None else zeros((m, 3), np.float32)
    body_joints = 23 if model_type == 'smpl' else 21
    body = get('body_pose', joints=body_joints)
    if model_type == 'smpl' and body is not None:
        cols['smpl_body_pose'] = body
        smpl_betas = get('betas', dims=10)
        cols['smpl_betas'] = smpl_betas if smpl_betas is not None else zeros((m, 10),
                                                                             np.float32)
        body = np.ascontiguousarray(body[:, :21])
    cols['body_pose'] = body if body is not None else zeros((m, 21, 3), np.float32)
    cols['body_valid'] = (np.abs(cols['body_pose']).reshape(m, -1).sum(1) > 0) \
        if body is not None else zeros(m, bool)

    betas = get('betas', dims=10)
    if opts.use_betas_neutral and params.get('betas_neutral') is not None:
        betas = get('betas_neutral', dims=10)
    if betas is None or opts.zero_betas or opts.hand_only or model_type in ('smpl', 'smplh'):
        betas = zeros((m, 10), np.float32)
    cols['betas'] = betas
    transl = get('transl', dims=3)
    cols['transl'] = transl if transl is not None else zeros((m, 3), np.float32)

    for side, key, mean in (('lhand', 'left_hand_pose', HANDS_MEAN_LEFT),
                            ('rhand', 'right_hand_pose', HANDS_MEAN_RIGHT)):
        pose = get(key, joints=15)
        if pose is None:
            cols[key] = zeros((m, 15, 3), np.float32)
            cols[f'{side}_valid'] = zeros(m, bool)
            continue
        cols[f'{side}_valid'] = np.abs(pose).reshape(m, -1).sum(1) > 0
        if opts.flat_hand_mean:
            pose = (pose - mean[None].astype(np.float32)).astype(np.float32)
        cols[key] = pose

    jaw = get('jaw_pose', dims=3)
    expr = get('expression', dims=10)
    cols['face_valid'] = np.full(m, jaw is not None and expr is not None)
    cols['jaw_pose'] = jaw if jaw is not None else zeros((m, 3), np.float32)
    cols['expression'] = expr if expr is not None else zeros((m, 10), np.float32)

    if opts.hand_only:
        cols['global_orient'] = zeros((m, 3), np.float32)
        cols['body_pose'] = zeros((m, 21, 3), np.float32)
        cols['body_valid'] = zeros(m, bool)
    for key in ('lhand_root', 'rhand_root'):
        root_pose = get(key, dims=3)
        if root_pose is not None:
            cols[key] = root_pose
    return cols
