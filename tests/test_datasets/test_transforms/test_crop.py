import cv2
import numpy as np
import pytest

from smplestx.datasets.transforms import AffineCrop, GetBBox, RandomSMPLXAugment
from smplestx.datasets.utils import flip_image, flip_keypoints_2d, flip_keypoints_3d
from smplestx.structures.keypoint import SMPLX_137_FLIP_PAIRS


def _official_box_and_transform(img, raw_bbox, ratio, scale=1.0, rot=0.0, flip=False):
    """§5.4-5.5 written out independently, with the official float32 point arithmetic.

    Only the box and the affine matrix: the crop's pixels are compared with the official
    code's own output in ``test_datasets/test_official_preproc.py`` (never with the running
    environment's ``cv2.warpAffine``, which differs between OpenCV 4.x and 5.x).
    """
    h_img, w_img = img.shape[:2]
    x, y, w, h = raw_bbox
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(w_img - 1.0, x1 + max(0.0, w - 1)), min(h_img - 1.0, y1 + max(0.0, h - 1))
    w, h = x2 - x1, y2 - y1
    cx, cy = x1 + w / 2, y1 + h / 2
    if w > 0.75 * h:
        h = w / 0.75
    elif w < 0.75 * h:
        w = h * 0.75
    box = np.array([cx - w * ratio / 2, cy - h * ratio / 2, w * ratio, h * ratio], np.float32)
    c_x = float(box[0] + 0.5 * box[2])
    c_y = float(box[1] + 0.5 * box[3])
    if flip:
        c_x = w_img - c_x - 1
    sw, sh = float(box[2]) * scale, float(box[3]) * scale
    r = np.pi * rot / 180
    half_h, half_w = float(np.float32(sh * 0.5)), float(np.float32(sw * 0.5))
    down = np.array([-half_h * np.sin(r), half_h * np.cos(r)], np.float32)
    right = np.array([half_w * np.cos(r), half_w * np.sin(r)], np.float32)
    c = np.array([c_x, c_y], np.float32)
    src = np.stack([c, c + down, c + right]).astype(np.float32)
    dst = np.array([[192, 256], [192, 512], [384, 256]], np.float32)
    trans = cv2.getAffineTransform(src, dst).astype(np.float32)
    return box, trans


def _image(h=480, w=640):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _pipeline(img, bbox, ratio, **aug):
    results = dict(img=img, ori_shape=img.shape[:2], bbox=np.array(bbox, np.float64), **aug)
    results = GetBBox(ratio=ratio)(results)
    return AffineCrop()(results)


@pytest.mark.parametrize('bbox,ratio,aug', [
    ([100.0, 50.0, 80.0, 200.0], 1.2, {}),
    ([-20.5, 10.25, 300.0, 160.0], 1.2 * 0.833, {}),
    ([200.0, 100.0, 150.0, 300.0], 1.2, dict(aug_scale=1.15, aug_rot=-37.0, aug_flip=True)),
])
def test_box_and_transform_equal_official_formula(bbox, ratio, aug):
    img = _image()
    out = _pipeline(img, bbox, ratio, **aug)
    ref_box, ref_trans = _official_box_and_transform(img, bbox, ratio,
                                                     aug.get('aug_scale', 1.0),
                                                     aug.get('aug_rot', 0.0),
                                                     aug.get('aug_flip', False))
    np.testing.assert_allclose(out['bbox'], ref_box, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(out['img2bb_trans'], ref_trans, atol=1e-4)
    assert out['img'].dtype == np.float32 and out['img'].shape == (512, 384, 3)
    assert out['img_shape'] == (512, 384)


def test_crop_keeps_float_precision():
    img = _image()
    out = _pipeline(img, [100.0, 50.0, 83.0, 211.0], 1.2)
    assert not np.allclose(out['img'], np.round(out['img']))


def test_inverse_transform_maps_back():
    out = _pipeline(_image(), [120.0, 80.0, 100.0, 220.0], 1.2,
                    aug_scale=0.9, aug_rot=15.0, aug_flip=False)
    pts = np.array([[0, 0], [383, 511], [100, 300]], np.float64)
    fwd = out['img2bb_trans'].astype(np.float64)
    inv = out['bb2img_trans'].astype(np.float64)
    back = (pts @ inv[:, :2].T + inv[:, 2]) @ fwd[:, :2].T + fwd[:, 2]
    np.testing.assert_allclose(back, pts, atol=1e-2)


def _blob_centroid(img):
    weight = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
    return np.array([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()


@pytest.mark.parametrize('aug', [dict(), dict(aug_scale=1.2, aug_rot=25.0),
                                 dict(aug_scale=0.8, aug_rot=-40.0, aug_flip=True)])
@pytest.mark.parametrize('joint', [0, 1])
def test_keypoint_lands_on_drawn_dot(aug, joint):
    img = np.zeros((480, 640, 3), np.uint8)
    dot = (301, 217)
    cv2.circle(img, dot, 4, (255, 255, 255), -1)
    kps = np.full((137, 2), 10.0, np.float32)
    kps[joint] = dot
    results = dict(img=img, ori_shape=(480, 640), bbox=np.array([220.0, 100.0, 180.0, 300.0]),
                   keypoints_2d=kps, keypoints_valid=np.ones((137, 1), np.float32), **aug)
    out = AffineCrop()(GetBBox(ratio=1.2)(results))
    flipped_joint = dict(SMPLX_137_FLIP_PAIRS).get(joint, joint) if aug.get('aug_flip') \
        else joint
    np.testing.assert_allclose(out['keypoints_2d'][flipped_joint], _blob_centroid(out['img']),
                               atol=0.25)


def test_colour_scale_applied_and_clipped():
    img = np.full((100, 100, 3), 200, np.uint8)
    out = _pipeline(img, [10.0, 10.0, 60.0, 80.0], 1.0,
                    aug_color_scale=np.array([1.5, 1.0, 0.5]))
    centre = out['img'][256, 192]
    np.testing.assert_allclose(centre, [255.0, 200.0, 100.0])


def test_double_flip_is_identity():
    img = _image(30, 41)
    np.testing.assert_array_equal(flip_image(flip_image(img)), img)
    kps = np.random.default_rng(1).uniform(0, 40, (137, 3)).astype(np.float32)
    np.testing.assert_allclose(flip_keypoints_2d(flip_keypoints_2d(kps, 41), 41), kps,
                               atol=1e-5)
    np.testing.assert_array_equal(flip_keypoints_3d(flip_keypoints_3d(kps)), kps)
    once = flip_keypoints_2d(kps, 41)
    assert not np.allclose(once, kps)
    np.testing.assert_allclose(once[2, 0], 40 - kps[1, 0], atol=1e-5)


def test_flip_moves_3d_keypoints_and_masks():
    kps3d = np.arange(137 * 3, dtype=np.float32).reshape(137, 3)
    valid = np.zeros((137, 1), np.float32)
    valid[1] = 1  # L_Hip only
    out = AffineCrop()(dict(img=np.zeros((50, 60, 3), np.uint8), bbox=np.array([0, 0, 30, 40.]),
                            keypoints_3d=kps3d, keypoints_valid=valid, aug_flip=True))
    assert out['keypoints_valid'][2, 0] == 1 and out['keypoints_valid'][1, 0] == 0
    np.testing.assert_array_equal(out['keypoints_3d'][2], [-3, 4, 5])
    assert out['flip'] is True


def test_random_augment_distribution_and_test_mode():
    np.random.seed(0)
    aug = RandomSMPLXAugment()
    draws = [aug(dict()) for _ in range(400)]
    scales = np.array([d['aug_scale'] for d in draws])
    rots = np.array([d['aug_rot'] for d in draws])
    flips = np.array([d['aug_flip'] for d in draws])
    colors = np.stack([d['aug_color_scale'] for d in draws])
    assert scales.min() >= 0.75 and scales.max() <= 1.25
    assert np.abs(rots).max() <= 60 and 0.3 < (rots == 0).mean() < 0.5
    assert 0.4 < flips.mean() < 0.6
    assert colors.min() >= 0.8 and colors.max() <= 1.2
    ident = RandomSMPLXAugment(test_mode=True)(dict())
    assert ident['aug_scale'] == 1.0 and ident['aug_rot'] == 0.0 and not ident['aug_flip']
    assert ident['aug_color_scale'] is None
