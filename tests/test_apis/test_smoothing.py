import numpy as np
import pytest

from smplestx.apis.smoothing import (
    IoUTracker,
    OneEuroFilter,
    PersonSmoother,
    SMPLXSmoother,
    axis_angle_to_matrix,
    box_iou,
    matrix_to_axis_angle,
    project_to_so3,
)

FPS = 30.0


def geodesic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad) between rotation matrices ``(..., 3, 3)``."""
    cos = (np.einsum('...ij,...ij->...', a, b) - 1) / 2
    return np.arccos(np.clip(cos, -1, 1))


def box(cx, cy, w=40, h=100):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def test_box_iou():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_tracker_keeps_ids_of_two_people_walking_past_each_other():
    tracker = IoUTracker()
    history = []
    for i in range(60):
        # A walks right, B walks left, slightly lower and smaller; they cross at frame 30.
        a, b = box(100 + 2 * i, 100), box(220 - 2 * i, 110, 36, 90)
        order = [b, a] if i % 2 else [a, b]  # detector order changes every frame
        ids = tracker.update(np.array(order))
        history.append(ids[::-1] if i % 2 else ids)
    assert all(ids == [0, 1] for ids in history)


def test_tracker_appear_disappear_and_missed_frames():
    tracker = IoUTracker(max_missed=2)
    assert tracker.update(np.array([box(50, 50)])) == [0]
    assert tracker.update(np.zeros((0, 4))) == []  # missed 1
    assert tracker.update(np.array([box(200, 50), box(52, 50)])) == [1, 0]  # new one, back
    assert tracker.update(np.array([box(200, 50)])) == [1]  # 0 missed 1
    assert tracker.update(np.array([box(200, 50)])) == [1]  # 0 missed 2
    assert tracker.update(np.array([box(200, 50)])) == [1]  # 0 ends
    assert tracker.live_ids == [1]
    assert tracker.update(np.array([box(52, 50), box(201, 50)])) == [2, 1]  # no id reuse
    tracker.reset()
    assert tracker.update(np.array([box(0, 0)])) == [0]
    with pytest.raises(ValueError, match='iou_thr'):
        IoUTracker(iou_thr=0)


def test_one_euro_removes_jitter_of_a_constant():
    rng = np.random.default_rng(0)
    noisy = 1.0 + 0.05 * rng.standard_normal((300, 8))
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    out = np.stack([filt(x, i / FPS) for i, x in enumerate(noisy)])
    raw_jitter = np.abs(np.diff(noisy[30:], axis=0)).mean()
    jitter = np.abs(np.diff(out[30:], axis=0)).mean()
    assert raw_jitter / jitter > 5  # 6.8 measured
    rms = np.sqrt(np.mean((out[30:] - 1.0)**2))
    assert rms < 0.5 * np.sqrt(np.mean((noisy[30:] - 1.0)**2))


def test_one_euro_follows_a_ramp_with_bounded_lag():
    t = np.arange(90) / FPS
    ramp = np.stack([t, -2 * t], axis=1)  # 1 and 2 units per second
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    out = np.stack([filt(x, ti) for x, ti in zip(ramp, t)])
    np.testing.assert_array_equal(out[0], ramp[0])
    lag = np.abs(out - ramp)[30:] / np.array([1.0, 2.0])  # in seconds of motion
    assert lag.max() < 0.1
    # With beta = 0 the lag is the plain low-pass lag 1 / (2 pi min_cutoff) (about 0.16 s).
    slow = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    out0 = np.stack([slow(x, ti) for x, ti in zip(ramp, t)])
    assert (np.abs(out0 - ramp)[60:] / np.array([1.0, 2.0])).min() > lag.max()


def test_one_euro_checks_its_input():
    filt = OneEuroFilter()
    filt(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match='increase'):
        filt(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match='shape'):
        filt(np.zeros(4), 1.0)
    with pytest.raises(ValueError, match='min_cutoff'):
        OneEuroFilter(min_cutoff=0)


def test_project_to_so3():
    rng = np.random.default_rng(1)
    rot = axis_angle_to_matrix(rng.normal(size=(5, 3)))
    np.testing.assert_allclose(project_to_so3(rot), rot, atol=1e-10)
    near = project_to_so3(rot + 0.05 * rng.normal(size=rot.shape))
    eye = np.broadcast_to(np.eye(3), rot.shape)
    np.testing.assert_allclose(near @ near.transpose(0, 2, 1), eye, atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(near), 1.0, atol=1e-10)


def person(global_orient, seed=0):
    rng = np.random.default_rng(seed)
    return {'global_orient': np.asarray(global_orient, np.float32).reshape(1, 3),
            'body_pose': (0.1 * rng.normal(size=(1, 21, 3))).astype(np.float32),
            'left_hand_pose': np.zeros((1, 15, 3), np.float32),
            'right_hand_pose': np.zeros((1, 15, 3), np.float32),
            'jaw_pose': np.zeros((1, 3), np.float32),
            'betas': rng.normal(size=(1, 10)).astype(np.float32),
            'expression': rng.normal(size=(1, 10)).astype(np.float32),
            'transl': rng.normal(size=(1, 3)).astype(np.float32),
            'bbox': np.array(box(100, 100), np.float32)}


def test_rotations_across_the_axis_angle_wrap_have_no_jumps():
    """A root turning slowly through 180 degrees: its axis-angle flips sign at pi."""
    axis = np.array([0.0, 0.6, 0.8])
    angles = np.pi - 0.15 + 0.01 * np.arange(30)  # crosses pi at frame 15
    rng = np.random.default_rng(2)
    smoother = PersonSmoother()
    truth, raw, out = [], [], []
    for i, angle in enumerate(angles):
        rot = axis_angle_to_matrix(angle * axis)
        noisy = project_to_so3(rot + 0.01 * rng.normal(size=(3, 3)))
        aa = matrix_to_axis_angle(noisy)  # angle in [0, pi]: flips after frame 15
        smoothed = smoother(person(aa), i / FPS)
        truth.append(rot)
        raw.append(aa)
        out.append(axis_angle_to_matrix(smoothed['global_orient'][0].astype(np.float64)))
    raw, out, truth = np.array(raw), np.array(out), np.array(truth)
    assert np.linalg.norm(np.diff(raw, axis=0), axis=1).max() > 5  # the raw input jumps
    steps = geodesic(out[1:], out[:-1])
    assert steps.max() < 0.03  # the truth turns 0.01 rad per frame
    assert geodesic(out, truth).max() < 0.06
    # Filtering raw axis-angle instead would pass through a near-identity rotation.
    naive = OneEuroFilter(1.0, 0.5)
    naive_rot = axis_angle_to_matrix(np.array([naive(a, i / FPS) for i, a in enumerate(raw)]))
    assert geodesic(naive_rot, truth).max() > 1.0


def test_rotation_sign_flips_at_pi_are_the_same_rotation():
    smoother = PersonSmoother()
    aa = np.pi * np.array([1.0, 0.0, 0.0])
    for i in range(10):
        out = smoother(person(aa if i % 2 else -aa), i / FPS)
        rot = axis_angle_to_matrix(out['global_orient'][0].astype(np.float64))
        assert geodesic(rot, axis_angle_to_matrix(aa)) < 1e-4


def test_person_smoother_keeps_shapes_and_transl():
    smoother = PersonSmoother(betas='mean')
    first, second = person([0.1, 0.2, 0.3], 0), person([0.1, 0.2, 0.3], 1)
    smoother(first, 0.0)
    out = smoother(second, 1 / FPS)
    for key, value in second.items():
        assert out[key].shape == value.shape and out[key].dtype == value.dtype, key
    np.testing.assert_array_equal(out['transl'], second['transl'])
    np.testing.assert_allclose(out['betas'], (first['betas'] + second['betas']) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match='betas'):
        PersonSmoother(betas='median')


def test_smplx_smoother_tracks_and_resets_per_track():
    smoother = SMPLXSmoother(fps=FPS, max_missed=0)
    a, b = person([0.1, 0, 0], 0), person([0.1, 0, 0], 1)
    b['bbox'] = np.array(box(300, 100), np.float32)
    out = smoother(0, [a, b])
    assert [p['track_id'] for p in out] == [0, 1]
    np.testing.assert_allclose(out[1]['betas'], b['betas'])  # first sample passes through
    out = smoother(1, [b])
    assert [p['track_id'] for p in out] == [1]
    out = smoother(2, [a])  # track 0 ended at frame 1: a new track with a fresh filter
    assert out[0]['track_id'] == 2
    np.testing.assert_allclose(out[0]['body_pose'], a['body_pose'], atol=1e-6)
    plain = SMPLXSmoother(enabled=False)(0, [a])[0]
    assert plain['track_id'] == 0 and plain['body_pose'] is a['body_pose']


def test_inferencer_smoothing_options():
    from smplestx.apis import SMPLestXInferencer

    make = SMPLestXInferencer._make_smoother
    assert make([], False, None) is None
    tracker_only = make([], True, None)
    assert not tracker_only.enabled and tracker_only.fps == 30.0
    smoother = make([], False, {'beta': 0.2, 'fps': 12})
    assert smoother.enabled and smoother.fps == 12.0 and smoother.filter_args['beta'] == 0.2
    with pytest.raises(ValueError, match='bad smoothing options'):
        make([], False, {'bogus': 1})
    with pytest.raises(ValueError, match='min_cutoff'):
        make([], False, {'min_cutoff': -1})
