import collections
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest

from smplestx.datasets import HumanDataset
from smplestx.datasets.utils.humandata_io import MalformedHumanDataError, UnsafeHumanDataError
from smplestx.structures.keypoint import (
    HANDS_MEAN_LEFT,
    HANDS_MEAN_RIGHT,
    LWRIST_IDX,
    RWRIST_IDX,
    SMPLX_137_FROM_HUMANDATA,
    SMPLX_137_PARTS,
)

LHAND = list(SMPLX_137_PARTS['lhand'])
RHAND = list(SMPLX_137_PARTS['rhand'])


def test_sample_contents(humandata_factory):
    hand_boxes = np.tile(np.array([[5, 6, 20, 30, 0.9]], np.float32), (6, 1))
    path, content = humandata_factory(lhand_bbox_xywh=hand_boxes)
    ds = HumanDataset(path, dataset_name='Toy', data_prefix=dict(img_path='/data'))
    assert len(ds) == 6 and ds.metainfo['dataset_name'] == 'Toy'
    info = ds.get_data_info(2)
    assert info['img_path'] == '/data/imgs/img_002.jpg' and info['img_id'] == 2
    np.testing.assert_array_equal(info['bbox'], content['bbox_xywh'][2, :4])
    assert info['ann_shape'] == (200, 220)
    mapping = list(SMPLX_137_FROM_HUMANDATA)
    np.testing.assert_allclose(info['keypoints_2d'], content['keypoints2d'][2, mapping, :2])
    np.testing.assert_allclose(info['keypoints_3d'], content['keypoints3d'][2, mapping, :3])
    assert info['keypoints_valid'].shape == (137, 1) and info['keypoints_valid'].all()
    params = info['smplx_params']
    np.testing.assert_allclose(params['body_pose'], content['smplx']['body_pose'][2])
    assert params['betas'].shape == (10, ) and params['expression'].shape == (10, )
    assert info['smplx_valid'] == dict(body=True, lhand=True, rhand=True, face=True)
    assert info['body_model_type'] == 'smplx' and info['gender'] == 'neutral'
    np.testing.assert_allclose(info['lhand_bbox'], [5, 6, 20, 30, 0.9])
    assert 'rhand_bbox' not in info
    info['bbox'][0] = -1  # samples are fresh copies
    assert ds.get_data_info(2)['bbox'][0] != -1


@pytest.mark.parametrize('key', ['bbox_xywh', 'image_path'])
def test_missing_required_key_names_key_and_file(humandata_factory, key):
    path, _ = humandata_factory(drop=(key, ))
    with pytest.raises(MalformedHumanDataError, match=key) as err:
        HumanDataset(path)
    assert path in str(err.value)


def test_missing_keypoints_and_body_model(humandata_factory):
    path, _ = humandata_factory(drop=('keypoints2d', ))
    with pytest.raises(MalformedHumanDataError, match='keypoints2d'):
        HumanDataset(path)
    path, _ = humandata_factory(name='b.npz', drop=('smplx', ))
    with pytest.raises(MalformedHumanDataError, match='smplx') as err:
        HumanDataset(path)
    assert 'b.npz' in str(err.value)


def test_wrong_shapes_are_reported(humandata_factory):
    path, _ = humandata_factory(bbox_xywh=np.zeros((3, 5), np.float32))
    with pytest.raises(MalformedHumanDataError, match='bbox_xywh'):
        HumanDataset(path)
    path, _ = humandata_factory(name='k.npz', keypoints2d=np.zeros((6, 17, 3), np.float32))
    with pytest.raises(MalformedHumanDataError, match='144/190'):
        HumanDataset(path)


def test_nan_keypoints_are_skipped_and_counted(humandata_factory):
    _, content = humandata_factory(name='ok.npz')
    kps3d, kps2d = content['keypoints3d'].copy(), content['keypoints2d'].copy()
    kps3d[1, SMPLX_137_FROM_HUMANDATA[5], 0] = np.nan
    kps2d[3, SMPLX_137_FROM_HUMANDATA[60], 1] = np.nan
    kps2d[4, 9, 0] = np.nan  # index 9 is not one of the 137 joints: harmless
    assert 9 not in SMPLX_137_FROM_HUMANDATA
    path, _ = humandata_factory(keypoints3d=kps3d, keypoints2d=kps2d)
    ds = HumanDataset(path)
    assert len(ds) == 4
    assert ds.num_skipped['nan_keypoints3d'] == 1 and ds.num_skipped['nan_keypoints2d'] == 1
    assert [ds.get_data_info(i)['img_id'] for i in range(4)] == [0, 2, 4, 5]


def test_hand_validity_is_per_sample(humandata_factory):
    rng = np.random.default_rng(3)
    lhand = rng.normal(0, 0.2, (6, 15, 3)).astype(np.float32)
    lhand[0] = 0  # sample 0 has no left hand
    path, _ = humandata_factory(smplx_extra=dict(left_hand_pose=lhand))
    ds = HumanDataset(path)
    first, second = ds.get_data_info(0), ds.get_data_info(1)
    assert not first['smplx_valid']['lhand'] and second['smplx_valid']['lhand']
    assert first['keypoints_valid'][LHAND].sum() == 0 and first['keypoints_valid'][LWRIST_IDX] == 0
    assert second['keypoints_valid'][LHAND].all() and second['keypoints_valid'][LWRIST_IDX] == 1
    assert first['keypoints_valid'][RHAND].all()


def test_missing_face_and_hands(humandata_factory):
    path, content = humandata_factory()
    smplx = dict(content['smplx'])
    for key in ('expression', 'right_hand_pose'):
        smplx.pop(key)
    path, _ = humandata_factory(name='noface.npz', smplx=smplx)
    info = HumanDataset(path).get_data_info(0)
    assert not info['smplx_valid']['face'] and not info['smplx_valid']['rhand']
    assert info['keypoints_valid'][RHAND].sum() == 0 and info['keypoints_valid'][RWRIST_IDX] == 0
    assert not info['smplx_params']['expression'].any()


def test_filters_and_interval(humandata_factory):
    meta = dict(annot_valid=np.array([1, 0, 1, 1, 1, 1]), iscrowd=np.array([0, 0, 1, 0, 0, 0]),
                num_keypoints=np.array([5, 5, 5, 0, 5, 5]),
                valid_label=np.array([1, 1, 1, 1, 0, 1]))
    path, _ = humandata_factory(num=6, meta_extra=meta)
    ds = HumanDataset(path)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == [0, 5]
    assert ds.num_skipped == dict(annot_invalid=1, crowd=1, zero_keypoints=1, invalid_label=1,
                                  sample_interval=0, invalid_bbox=0, nan_keypoints3d=0,
                                  nan_keypoints2d=0)
    off = HumanDataset(path, filter_annot_valid=False, filter_crowd=False,
                       filter_zero_keypoints=False, filter_invalid_label=False,
                       sample_interval=2)
    assert [off.get_data_info(i)['img_id'] for i in range(len(off))] == [0, 2, 4]


def test_kids_and_invalid_boxes_skipped(humandata_factory):
    extra = np.zeros((6, 1), np.float32)
    extra[2] = 0.5
    boxes = np.tile(np.array([[10, 10, 50, 50, 1]], np.float32), (6, 1))
    boxes[4] = [500, 10, 50, 50, 1]  # outside the 220x200 image
    path, _ = humandata_factory(smplx_extra=dict(betas_extra=extra), bbox_xywh=boxes)
    ds = HumanDataset(path)
    assert ds.num_skipped['kids'] == 1 and ds.num_skipped['invalid_bbox'] == 1
    assert len(ds) == 4


def test_dataset_conventions(humandata_factory):
    path, content = humandata_factory(
        smplx_extra=dict(betas_neutral=np.full((6, 11), 0.5, np.float32),
                         lhand_root=np.ones((6, 1, 3), np.float32)))
    smplx = content['smplx']
    flat = HumanDataset(path, flat_hand_mean=True).get_data_info(0)['smplx_params']
    np.testing.assert_allclose(flat['left_hand_pose'],
                               smplx['left_hand_pose'][0] - HANDS_MEAN_LEFT, atol=1e-6)
    np.testing.assert_allclose(flat['right_hand_pose'],
                               smplx['right_hand_pose'][0] - HANDS_MEAN_RIGHT, atol=1e-6)
    np.testing.assert_allclose(flat['betas'], 0.5)
    plain = HumanDataset(path, use_betas_neutral=False).get_data_info(0)['smplx_params']
    np.testing.assert_allclose(plain['betas'], smplx['betas'][0])
    assert not HumanDataset(path, zero_betas=True).get_data_info(0)['smplx_params'][
        'betas'].any()
    hand = HumanDataset(path, hand_only=True).get_data_info(0)
    assert not hand['smplx_params']['global_orient'].any()
    assert not hand['smplx_params']['body_pose'].any() and not hand['smplx_valid']['body']
    np.testing.assert_array_equal(hand['lhand_root'], [1, 1, 1])
    assert hand['hand_only']


def test_flat_talkshow_style_params_keep_right_hand(humandata_factory):
    path, content = humandata_factory()
    smplx = {k: v.reshape(6, -1) for k, v in content['smplx'].items()}
    smplx['expression'] = np.zeros((6, 50), np.float32) + 0.1
    path, _ = humandata_factory(name='talk.npz', smplx=smplx)
    params = HumanDataset(path).get_data_info(1)['smplx_params']
    np.testing.assert_allclose(params['right_hand_pose'],
                               content['smplx']['right_hand_pose'][1])
    assert params['body_pose'].shape == (21, 3) and params['expression'].shape == (10, )


def test_smpl_annotation(humandata_factory):
    rng = np.random.default_rng(1)
    smpl = dict(global_orient=rng.normal(size=(6, 3)).astype(np.float32),
                body_pose=rng.normal(size=(6, 69)).astype(np.float32),
                betas=rng.normal(size=(6, 10)).astype(np.float32),
                transl=np.zeros((6, 3), np.float32))
    meta = dict(gender=np.array(['male', 'female', 'm', 'f', 'neutral', 'male']))
    path, _ = humandata_factory(drop=('smplx', ), smpl=smpl, meta_extra=meta)
    info = HumanDataset(path).get_data_info(1)
    assert info['body_model_type'] == 'smpl' and info['gender'] == 'female'
    np.testing.assert_allclose(info['smplx_params']['body_pose'],
                               smpl['body_pose'][1].reshape(23, 3)[:21])
    assert not info['smplx_params']['betas'].any()
    np.testing.assert_allclose(info['smpl_params']['betas'], smpl['betas'][1])
    assert info['smpl_params']['body_pose'].shape == (23, 3)
    assert not info['smplx_valid']['lhand'] and not info['smplx_valid']['face']


def test_compressed_keypoints(humandata_factory):
    _, full = humandata_factory(name='full.npz')
    mask = np.ones(144, np.float32)
    mask[[3, 50, 100]] = 0
    kps = full['keypoints2d'][:, mask == 1]
    path, _ = humandata_factory(compress=True, keypoints2d=kps, keypoints2d_mask=mask,
                                drop=('keypoints3d', 'keypoints3d_mask'))
    info = HumanDataset(path).get_data_info(0)
    mapping = np.asarray(SMPLX_137_FROM_HUMANDATA)
    expected = full['keypoints2d'][0, mapping, :2] * mask[mapping, None]
    np.testing.assert_allclose(info['keypoints_2d'], expected)
    np.testing.assert_array_equal(info['keypoints_valid'][:, 0], mask[mapping])
    assert info['keypoints_3d'] is None
    official = HumanDataset(path, official_hand_keypoint_validity=True).get_data_info(0)
    forced = mask[mapping].copy()
    forced[SMPLX_137_PARTS['hand'].start:SMPLX_137_PARTS['hand'].stop] = 1
    np.testing.assert_array_equal(official['keypoints_valid'][:, 0], forced)


def test_without_compressed_flag_and_masks(humandata_factory):
    path, _ = humandata_factory(drop=('__keypoints_compressed__', 'keypoints2d_mask',
                                      'keypoints3d_mask'))
    info = HumanDataset(path).get_data_info(0)
    assert info['keypoints_valid'].all()


def test_img_shape_required_without_meta(humandata_factory):
    path, _ = humandata_factory(drop=('meta', ))
    with pytest.raises(MalformedHumanDataError, match='img_shape'):
        HumanDataset(path)
    assert HumanDataset(path, img_shape=(300, 400)).get_data_info(0)['ann_shape'] == (300, 400)


def test_strip_leading_slash_and_camera(humandata_factory):
    paths = np.array([f'/seq/img_{i}.jpg' for i in range(6)])
    meta = dict(focal_length=np.full((6, 2), 500.0), principal_point=np.full((6, 2), 100.0))
    path, _ = humandata_factory(image_path=paths, meta_extra=meta)
    ds = HumanDataset(path, strip_leading_slash=True, camera_from_meta=True,
                      data_prefix=dict(img_path='root'), cam_param=dict(R=np.eye(3)))
    info = ds.get_data_info(0)
    assert info['img_path'] == 'root/seq/img_0.jpg'
    np.testing.assert_allclose(info['cam_param']['focal'], [500, 500])
    np.testing.assert_allclose(info['cam_param']['R'], np.eye(3))


def test_unsafe_pickle_refused(humandata_factory):
    path, _ = humandata_factory(meta=collections.Counter(a=1))
    with pytest.raises(UnsafeHumanDataError, match='Counter'):
        HumanDataset(path)


def test_subset_indices(humandata_factory):
    path, _ = humandata_factory()
    ds = HumanDataset(path, indices=[4, 1])
    assert len(ds) == 2 and ds.get_data_info(0)['img_id'] == 4
    sub = HumanDataset(path).get_subset(3)
    assert len(sub) == 3


def test_cache_round_trip_and_invalidation(humandata_factory, tmp_path):
    cache_dir = tmp_path / 'cache'
    path, _ = humandata_factory()
    first = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
    entries = sorted(p.name for p in cache_dir.iterdir())
    assert len(entries) == 1 and entries[0].startswith('T-')
    second = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
    assert isinstance(second._columns['keypoints_2d'], np.memmap)
    a, b = first.get_data_info(3), second.get_data_info(3)
    np.testing.assert_array_equal(a['keypoints_2d'], b['keypoints_2d'])
    assert a['img_path'] == b['img_path']
    # another option -> another key
    HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T',
                 sample_interval=2)
    assert len(list(cache_dir.iterdir())) == 2
    # new content at the same path -> rebuilt, never reused
    humandata_factory(num=4, seed=9)
    third = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
    assert len(third) == 4 and len(list(cache_dir.iterdir())) == 3
    # an incomplete entry is rebuilt
    entry = third._cache_entry
    (tmp_path / 'cache' / entry.split('/')[-1] / 'meta.json').unlink()
    fourth = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
    assert len(fourth) == 4
    # pickling (spawned workers) re-maps the cache instead of copying it
    clone = pickle.loads(pickle.dumps(fourth))
    np.testing.assert_array_equal(clone.get_data_info(1)['bbox'], fourth.get_data_info(1)['bbox'])


def _dropping_pipeline(dropped):
    """A pipeline that drops the samples ``dropped`` and keeps the seed it was given."""
    def pipeline(results):
        if results['sample_idx'] in dropped:
            return None
        return dict(sample_idx=results['sample_idx'], aug_seed=results.get('aug_seed'))
    return [pipeline]


def test_refetch_of_a_seeded_index_ignores_the_global_rng(humandata_factory):
    from smplestx.datasets.samplers import SeededIndex

    path, _ = humandata_factory(num=6)
    ds = HumanDataset(path, pipeline=_dropping_pipeline({0, 1, 2}))
    assert len(ds) == 6
    kept = ds[SeededIndex(4, seed=7)]
    assert kept == dict(sample_idx=4, aug_seed=7)
    replacements = []
    for seed in range(12):
        got = []
        for global_seed in (0, 1):
            np.random.seed(global_seed)
            got.append(ds[SeededIndex(0, seed=seed)])
        assert got[0] == got[1]  # the same replacement and seed, whatever np.random holds
        assert got[0]['sample_idx'] in {3, 4, 5}
        assert got[0]['aug_seed'] is not None and got[0]['aug_seed'] != seed
        replacements.append(got[0]['sample_idx'])
    assert len(set(replacements)) > 1  # the replacement depends on the seed
    # plain indices keep MMEngine's behaviour: the replacement comes from np.random
    picks = set()
    for global_seed in range(8):
        np.random.seed(global_seed)
        out = ds[0]
        assert out['aug_seed'] is None
        picks.add(out['sample_idx'])
    assert len(picks) > 1


def test_refetch_gives_up_with_the_dataset_name(humandata_factory):
    from smplestx.datasets.samplers import SeededIndex

    path, _ = humandata_factory(num=3)
    ds = HumanDataset(path, dataset_name='Toy', pipeline=_dropping_pipeline({0, 1, 2}),
                      max_refetch=3)
    with pytest.raises(RuntimeError, match='Toy: no valid training sample after 3 refetches'):
        ds[SeededIndex(1, seed=5)]


@pytest.fixture()
def log_lines():
    """Messages of the current MMEngine logger while the test runs."""
    from mmengine.logging import MMLogger

    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


@pytest.mark.parametrize('damage', ['truncated column', 'garbage column', 'garbage meta',
                                    'missing column'])
def test_a_damaged_cache_is_rebuilt_with_one_warning(humandata_factory, tmp_path, damage,
                                                     log_lines):
    cache_dir = tmp_path / 'cache'
    path, _ = humandata_factory()
    first = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
    expected = first.get_data_info(2)['keypoints_2d']  # a copy
    entry = Path(first._cache_entry)
    column = entry / 'keypoints_2d.npy'
    if damage == 'truncated column':
        column.write_bytes(column.read_bytes()[:len(column.read_bytes()) // 2])
    elif damage == 'garbage column':
        column.write_bytes(b'\x00' * 300)
    elif damage == 'garbage meta':
        (entry / 'meta.json').write_text('{"key": ')
    else:
        column.unlink()
    log_lines.clear()
    for _ in range(2):  # repaired once, then used as it is
        again = HumanDataset(path, use_cache=True, cache_dir=str(cache_dir), dataset_name='T')
        np.testing.assert_array_equal(again.get_data_info(2)['keypoints_2d'], expected)
    damaged = [line for line in log_lines if ' is damaged (' in line]
    assert len(damaged) == 1 and f'annotation cache {entry} is damaged (' in damaged[0]
    assert damaged[0].endswith('); rebuilding it')
    assert sorted(p.name for p in cache_dir.iterdir()) == [entry.name]  # nothing left over
