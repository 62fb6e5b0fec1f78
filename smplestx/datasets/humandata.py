"""HumanData datasets (mmhuman3d ``.npz`` annotations), the SMPLest-X training/test format.

:class:`HumanDataset` reads one HumanData file into a column table
(:func:`~smplestx.datasets.utils.annotation_table.build_annotation_table`), optionally cached
on disk and memory-mapped, and builds the per-sample dict only in :meth:`get_data_info`.
There is no list of per-sample dicts and no pickled data list, so millions of instances cost
a few arrays of memory that dataloader workers share.

The per-sample dict handed to the pipeline holds:

* ``img_path``, ``img_id`` (row in the file), ``sample_idx``, ``dataset_name``;
* ``aug_seed`` when the sampler attached one to the index (see
  :mod:`smplestx.datasets.samplers.sample_seeds`);
* ``bbox``: the raw ``[x, y, w, h]`` body box (processed later by ``GetBBox``) and
  ``ann_shape`` ``(H, W)`` from the annotation;
* ``keypoints_2d`` ``(137, 2)``, ``keypoints_3d`` ``(137, 3)`` or ``None``,
  ``keypoints_valid`` ``(137, 1)``: the SMPLest-X supervision joints (HumanData 144/190
  keypoints mapped with ``SMPLX_137_FROM_HUMANDATA``), with per-sample hand validity;
* ``smplx_params``: ``global_orient`` (3), ``body_pose`` (21, 3), ``left_hand_pose``,
  ``right_hand_pose`` (15, 3) in the ``flat_hand_mean=False`` convention, ``jaw_pose`` (3),
  ``betas`` (10), ``expression`` (10), ``transl`` (3); ``smplx_valid``: ``body``,
  ``lhand``, ``rhand``, ``face`` flags;
* ``lhand_bbox``, ``rhand_bbox``, ``face_bbox``: raw ``[x, y, w, h, conf]`` part boxes when
  the file has them (``conf > 0`` means valid; SMPLest-X has no box loss);
* ``body_model_type`` (``smplx``/``smpl``/``smplh``), ``gender``, ``smpl_params`` for SMPL
  annotations (``body_pose`` (23, 3), ``betas``), ``lhand_root``/``rhand_root`` (3) for
  hand-only data, ``cam_param`` (``focal``, ``princpt``, ``R``, ``t`` when known),
  ``vertices3d_path`` (ARCTIC), and the flags ``hand_only`` and ``use_smplx_joints``.
"""

import copy
import dataclasses
import logging
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from smplestx.registry import DATASETS, TRANSFORMS
from smplestx.utils.io import file_sha256

from .samplers.sample_seeds import SeededIndex, index_seed
from .utils.annotation_cache import AnnotationCache, make_cache_key
from .utils.annotation_table import GENDERS, HumanDataOptions, build_annotation_table

_PARAM_KEYS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
               'betas', 'expression', 'transl')


#: Mixed into the refetch generator's seed: its stream differs from the augmentation's.
_REFETCH_TAG = 0x72656631


@DATASETS.register_module()
class HumanDataset(BaseDataset):
    """A dataset of person crops annotated in the HumanData format.

    Args:
        ann_file: The HumanData ``.npz`` (joined with ``data_root``).
        dataset_name: Name stored in every sample (``AGORA``, ``UBody``...); defaults to the
            annotation file stem.
        data_root: Root folder of the dataset.
        data_prefix: ``dict(img_path=...)``: folder the ``image_path`` entries are relative to.
        pipeline: Transforms (configs, built with the smplestx registry, or callables).
        test_mode: Evaluation mode (a pipeline returning ``None`` raises instead of retrying).
        sample_interval: Keep every n-th sample of the file.
        img_shape: Default image size ``(H, W)`` when the file has no per-sample size.
        use_meta_img_shape: Use ``meta.height/width`` when present.
        filter_annot_valid: Skip ``meta.annot_valid == 0`` (AGORA).
        filter_crowd: Skip ``meta.iscrowd`` (UBody, MSCOCO).
        filter_zero_keypoints: Skip ``meta.num_keypoints == 0``.
        filter_invalid_label: Skip ``meta.valid_label == 0`` (UBody).
        skip_kids: Skip samples with non-zero ``betas_extra`` (AGORA kids).
        body_model_type: ``'auto'``, ``'smplx'``, ``'smpl'`` or ``'smplh'``.
        flat_hand_mean: Hand poses were annotated with ``flat_hand_mean=True``.
        zero_betas: Drop the shape annotation (ARCTIC).
        use_betas_neutral: Prefer ``betas_neutral`` when present.
        hand_only: Hand-only data with MANO roots (zero shape, root and body).
        strip_leading_slash: Remove a leading ``/`` from image paths (MPI-INF-3DHP).
        camera_from_meta: Per-sample intrinsics/extrinsics from ``meta``.
        gendered_smplx: Use ``meta.gender`` for the SMPL-X ground truth.
        official_hand_keypoint_validity: Force hand keypoints valid when the hand pose is
            (official behaviour; by default they stay ``mask AND hand_valid``).
        cam_param: Constant camera for the SMPL-X ground truth, ``dict(focal=(fx, fy),
            princpt=(cx, cy), R=3x3, t=3)`` (any subset; per-sample values win).
        use_smplx_joints: Supervise 3D joints with the SMPL-X joints of the ground-truth
            parameters instead of the annotated keypoints (RenBody).
        use_cache: Cache the processed table under ``cache_dir`` and memory-map it.
        cache_dir: Cache folder; defaults to ``<data_root>/cache``.
        allow_unsafe_pickle: Unpickle object members without the allow-list (trusted files
            only).
        metainfo: Extra dataset metainfo.
        indices: Keep only these samples (an int keeps the first ``indices``).
        lazy_init: Defer reading the annotation until first use.
        max_refetch: Retries when the pipeline returns ``None`` in training.
    """

    METAINFO: dict = dict(dataset_type='HumanData')

    def __init__(self,
                 ann_file: str,
                 dataset_name: Optional[str] = None,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 sample_interval: int = 1,
                 img_shape: Optional[Tuple[int, int]] = None,
                 use_meta_img_shape: bool = True,
                 filter_annot_valid: bool = True,
                 filter_crowd: bool = True,
                 filter_zero_keypoints: bool = True,
                 filter_invalid_label: bool = True,
                 skip_kids: bool = True,
                 body_model_type: str = 'auto',
                 flat_hand_mean: bool = False,
                 zero_betas: bool = False,
                 use_betas_neutral: bool = True,
                 hand_only: bool = False,
                 strip_leading_slash: bool = False,
                 camera_from_meta: bool = False,
                 gendered_smplx: bool = False,
                 official_hand_keypoint_validity: bool = False,
                 cam_param: Optional[dict] = None,
                 use_smplx_joints: bool = False,
                 use_cache: bool = False,
                 cache_dir: Optional[str] = None,
                 allow_unsafe_pickle: bool = False,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        self.options = HumanDataOptions(
            sample_interval=sample_interval, img_shape=img_shape,
            use_meta_img_shape=use_meta_img_shape, filter_annot_valid=filter_annot_valid,
            filter_crowd=filter_crowd, filter_zero_keypoints=filter_zero_keypoints,
            filter_invalid_label=filter_invalid_label, skip_kids=skip_kids,
            body_model_type=body_model_type, flat_hand_mean=flat_hand_mean,
            zero_betas=zero_betas, use_betas_neutral=use_betas_neutral, hand_only=hand_only,
            strip_leading_slash=strip_leading_slash, camera_from_meta=camera_from_meta,
            gendered_smplx=gendered_smplx,
            official_hand_keypoint_validity=official_hand_keypoint_validity,
            skip_nan_params=test_mode)
        self.dataset_name = dataset_name or osp.splitext(osp.basename(ann_file))[0]
        self.cam_param = {k: np.asarray(v, np.float32) for k, v in (cam_param or {}).items()}
        self.use_smplx_joints = use_smplx_joints
        self.use_cache = use_cache
        self.cache_dir = cache_dir
        self.allow_unsafe_pickle = allow_unsafe_pickle
        self._columns: Dict[str, np.ndarray] = {}
        self._rows = np.zeros(0, dtype=np.int64)
        self.table_info: dict = {}
        self._cache_entry: Optional[str] = None
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix or dict(img_path=''),
                         pipeline=[TRANSFORMS.build(t) if isinstance(t, dict) else t
                                   for t in pipeline],
                         test_mode=test_mode, lazy_init=lazy_init, serialize_data=False,
                         indices=indices, max_refetch=max_refetch)
        self._metainfo.setdefault('dataset_name', self.dataset_name)

    # ----------------------------------------------------------------------------- loading
    def full_init(self) -> None:
        """Build or load the annotation table (once)."""
        if self._fully_initialized:
            return
        self._columns, self.table_info = self._load_table()
        num = len(self._columns['img_id'])
        self._rows = np.arange(num, dtype=np.int64)
        if self._indices is not None:
            self._rows = self._select(self._indices)
        skipped = ', '.join(f'{k}={v}' for k, v in self.table_info['skipped'].items() if v)
        print_log(f'[{self.dataset_name}] {len(self._rows)} samples from '
                  f'{self.table_info["num_in_file"]} in {self.ann_file} (skipped: '
                  f'{skipped or "none"})', logger='current')
        nan_params = self.table_info['skipped'].get('nan_params', 0)
        if nan_params:
            rows = ', '.join(map(str, self.table_info.get('nan_param_rows', [])))
            print_log(f'[{self.dataset_name}] {self.ann_file}: {nan_params} sample(s) with NaN '
                      f'{self.table_info["model_type"]} parameters left out of evaluation '
                      f'(their ground-truth mesh is undefined; rows {rows}'
                      f'{", ..." if nan_params > 20 else ""})', logger='current',
                      level=logging.WARNING)
        self._fully_initialized = True

    def _load_table(self) -> Tuple[Dict[str, np.ndarray], dict]:
        if not self.use_cache:
            return build_annotation_table(self.ann_file, self.options, self.allow_unsafe_pickle)
        cache = AnnotationCache(self.cache_dir or osp.join(self.data_root or '.', 'cache'))
        key = make_cache_key(file_sha256(self.ann_file), self.cache_options())
        loaded, problem = cache.inspect(self.dataset_name, key)
        if loaded is None:
            folder = cache.entry_dir(self.dataset_name, key)
            if problem is not None:
                print_log(f'[{self.dataset_name}] annotation cache {folder} is damaged '
                          f'({problem}); rebuilding it', logger='current',
                          level=logging.WARNING)
            columns, info = build_annotation_table(self.ann_file, self.options,
                                                   self.allow_unsafe_pickle)
            folder = cache.save(self.dataset_name, key, columns, info)
            print_log(f'[{self.dataset_name}] cached the annotation table in {folder}',
                      logger='current')
            loaded, problem = cache.inspect(self.dataset_name, key)
            if loaded is None:
                raise OSError(f'annotation cache {folder} is unreadable right after it was '
                              f'written ({problem}); check the disk or set use_cache=False')
        self._cache_entry = cache.entry_dir(self.dataset_name, key)
        return loaded

    def cache_options(self) -> dict:
        """The options that enter the cache key."""
        return dict(dataclasses.asdict(self.options), allow_unsafe=self.allow_unsafe_pickle)

    def _select(self, indices: Union[int, Sequence[int]]) -> np.ndarray:
        if isinstance(indices, int):
            return self._rows[:indices] if indices >= 0 else self._rows[indices:]
        return self._rows[np.asarray(indices, dtype=np.int64)]

    def get_subset_(self, indices: Union[Sequence[int], int]) -> None:
        """Keep only ``indices`` (in place)."""
        self.full_init()
        self._rows = self._select(indices)

    def get_subset(self, indices: Union[Sequence[int], int]) -> 'HumanDataset':
        """A copy holding only ``indices`` (the table arrays are shared, not copied)."""
        self.full_init()
        other = copy.copy(self)
        other._rows = self._select(indices)
        return other

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        if self._cache_entry is not None:
            state['_columns'] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self._cache_entry is not None and not self._columns:
            folder = self._cache_entry
            cache = AnnotationCache(osp.dirname(folder))
            name, key = osp.basename(folder).rsplit('-', 1)
            loaded = cache.load(name, key)
            if loaded is None:
                raise FileNotFoundError(f'annotation cache {folder} disappeared')
            self._columns = loaded[0]

    def __len__(self) -> int:
        """Number of samples."""
        if not self._fully_initialized:
            self.full_init()
        return len(self._rows)

    @property
    def num_skipped(self) -> Dict[str, int]:
        """Samples of the file dropped per reason (``nan_keypoints2d``, ``invalid_bbox``...)."""
        self.full_init()
        return dict(self.table_info['skipped'])

    # ----------------------------------------------------------------------------- samples
    def __getitem__(self, idx: int) -> dict:
        """The processed sample ``idx``; a dropped training sample is replaced by another.

        As in MMEngine, when the pipeline drops a training sample (returns ``None``) another
        index is tried, up to ``max_refetch`` times. For a seeded index (see
        :mod:`smplestx.datasets.samplers.sample_seeds`) the replacements and their
        augmentation seeds are drawn from that seed, not from the worker's global RNG, so
        they too do not depend on the dataloader workers.
        """
        seed = index_seed(idx)
        if seed is None or self.test_mode:
            return super().__getitem__(idx)
        self.full_init()
        rng = np.random.default_rng([seed, _REFETCH_TAG])
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            idx = SeededIndex(int(rng.integers(len(self))), int(rng.integers(2**63)))
        raise RuntimeError(f'{self.dataset_name}: no valid training sample after '
                           f'{self.max_refetch} refetches (the pipeline dropped every one); '
                           f'check the image paths and the pipeline')

    def get_data_info(self, idx: int) -> dict:
        """The annotation of sample ``idx`` as a fresh dict of numpy arrays.

        A :class:`~smplestx.datasets.samplers.SeededIndex` adds its seed as ``aug_seed``.
        """
        self.full_init()
        seed = index_seed(idx)
        idx = int(idx)
        if idx < 0:
            idx += len(self)
        row = int(self._rows[idx])
        cols = self._columns

        def take(key: str, dtype: type = np.float32) -> np.ndarray:
            return np.array(cols[key][row], dtype=dtype)

        info: dict = dict(
            img_path=osp.join(self.data_prefix.get('img_path', ''), str(cols['image_path'][row])),
            img_id=int(cols['img_id'][row]),
            sample_idx=idx,
            dataset_name=self.dataset_name,
            bbox=take('bbox'),
            ann_shape=tuple(int(v) for v in cols['img_shape'][row]),
            keypoints_2d=take('keypoints_2d'),
            keypoints_3d=take('keypoints_3d') if 'keypoints_3d' in cols else None,
            keypoints_valid=take('keypoints_valid')[:, None],
            smplx_params={k: take(k) for k in _PARAM_KEYS},
            smplx_valid=dict(body=bool(cols['body_valid'][row]),
                             lhand=bool(cols['lhand_valid'][row]),
                             rhand=bool(cols['rhand_valid'][row]),
                             face=bool(cols['face_valid'][row])),
            body_model_type=self.table_info['model_type'],
            gender=GENDERS[int(cols['gender'][row])] if 'gender' in cols else 'neutral',
            hand_only=self.options.hand_only,
            use_smplx_joints=self.use_smplx_joints,
        )
        if 'smpl_body_pose' in cols:
            info['smpl_params'] = dict(global_orient=take('global_orient'),
                                       body_pose=take('smpl_body_pose'),
                                       betas=take('smpl_betas'), transl=take('transl'))
        for key in ('lhand_root', 'rhand_root', 'lhand_bbox', 'rhand_bbox', 'face_bbox'):
            if key in cols:
                info[key] = take(key)
        cam = {k: v.copy() for k, v in self.cam_param.items()}
        for key, out in (('focal', 'focal'), ('princpt', 'princpt'), ('cam_R', 'R'),
                         ('cam_t', 't')):
            if key in cols:
                cam[out] = take(key)
        info['cam_param'] = cam
        if seed is not None:
            info['aug_seed'] = seed
        if 'vertices3d_path' in cols:
            info['vertices3d_path'] = osp.join(self.data_prefix.get('img_path', ''),
                                               str(cols['vertices3d_path'][row]))
        return info

    def load_data_list(self) -> List[dict]:
        """Not used: samples are built on demand from the column table."""
        raise NotImplementedError('HumanDataset builds samples in get_data_info')
