import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from smplestx.evaluation.metrics import SMPLXMeshMetric
from smplestx.registry import METRICS
from smplestx.structures.smplx_data_sample import SMPLXDataSample
from smplestx.utils.body_model_files import BodyModelFilesError

#: (lhand_valid, rhand_valid) of the crafted case; sample 4 has no valid hand.
VALIDITY = [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0), (1.0, 1.0)]
#: Samples whose hand is deformed so that its PA-MPJPE exceeds 100 mm.
OUTLIERS = {3: 'left', 5: 'right'}

NAN = float('nan')
#: Means returned by the official ``HumanDataset.evaluate`` (MotrixLab/SMPLest-X fdebd887,
#: run unmodified on CPU with the synthetic body model; it printed the two hand outliers
#: "lhand: 140.80" and "rhand: 180.50") for ``make_case`` in float64.
OFFICIAL_MEANS = {
    'pa-mpvpe/all': 37.55165083834736,
    'pa-mpvpe/lhand': 71.66800813064214,
    'pa-mpvpe/rhand': 75.34640224958497,
    'pa-mpvpe/hands': NAN,
    'pa-mpvpe/face': 29.135979774512524,
    'mpvpe/all': 648.5861107802259,
    'mpvpe/lhand': 163.96678262373015,
    'mpvpe/rhand': 180.69587273910824,
    'mpvpe/hands': NAN,
    'mpvpe/face': 177.91302363798596,
    'pa-mpjpe/body': 6.082401841510211,
    'pa-mpjpe/lhand': 13.755391441321054,
    'pa-mpjpe/rhand': 14.303005859332403,
    'pa-mpjpe/hands': NAN,
    'mpjpe/body': 599.4352442851223,
    'mpjpe/lhand': 4947.939603816348,
    'mpjpe/rhand': 5052.094649408923,
    'mpjpe/hands': NAN,
}


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def make_case(template: np.ndarray, hand_ids: dict):
    """Deterministic GT/pred SMPL-X meshes (float64, metres) with hand outliers."""
    rng = np.random.default_rng(2024)
    preds, gts = [], []
    for i in range(len(VALIDITY)):
        gt = (template @ _rotation(rng).T * 0.3 + template * 0.7 + np.array([0.1, 0.2, 5.0])
              + rng.normal(scale=0.01, size=template.shape))
        pred = (gt + rng.normal(scale=0.02, size=gt.shape)) @ _rotation(rng).T * 1.1
        pred = pred + rng.normal(size=3)
        if i in OUTLIERS:
            ids = hand_ids[OUTLIERS[i]]
            centre = pred[ids].mean(0)
            pred[ids] = (pred[ids] - centre) * np.array([1.0, 8.0, 1.0]) + centre
            centre = gt[ids].mean(0)
            gt[ids] = (gt[ids] - centre) * np.array([8.0, 1.0, 8.0]) + centre
        preds.append(pred)
        gts.append(gt)
    return preds, gts


def make_samples(preds, gts, validity=VALIDITY, as_dict=True):
    samples = []
    for pred, gt, (lv, rv) in zip(preds, gts, validity):
        sample = SMPLXDataSample()
        sample.gt_instances = InstanceData(
            smplx_mesh_cam=torch.as_tensor(gt)[None], lhand_valid=torch.tensor([lv]),
            rhand_valid=torch.tensor([rv]))
        sample.pred_instances = InstanceData(vertices=torch.as_tensor(pred)[None])
        samples.append(sample.to_dict() if as_dict else sample)
    return samples


@pytest.fixture(scope='module')
def case(smplx_template, smplx_assets):
    return make_case(smplx_template, smplx_assets.hand_vertex_ids)


@pytest.fixture(scope='module')
def per_sample_refs(case, smplx_assets, reference_errors):
    preds, gts = case
    return {flag: [reference_errors(p, g, smplx_assets, flag) for p, g in zip(preds, gts)]
            for flag in (False, True)}


def _run(metric, samples, chunk=4):
    for start in range(0, len(samples), chunk):
        metric.process({}, samples[start:start + chunk])
    return metric.evaluate(len(samples))


def _assert_same(ours, ref, keys=None):
    for key in keys or ref:
        a, b = ours[key], ref[key]
        if math.isnan(b):
            assert math.isnan(a), key
        else:
            assert abs(a - b) < 1e-6, (key, a, b)


def test_default_metric_matches_loop_reference(body_model_path, case, per_sample_refs):
    preds, gts = case
    refs = per_sample_refs[False]
    metric = METRICS.build(dict(type='SMPLXMeshMetric', body_model_dir=str(body_model_path)))
    ours = _run(metric, make_samples(preds, gts))
    expected = {}
    for key in ('mpvpe/all', 'pa-mpvpe/all', 'mpvpe/face', 'pa-mpvpe/face', 'mpjpe/body',
                'pa-mpjpe/body'):
        expected[key] = np.mean([r[key] for r in refs])
    for name in ('mpvpe', 'pa-mpvpe', 'mpjpe', 'pa-mpjpe'):
        left = [r[f'{name}/lhand'] for r, (lv, _) in zip(refs, VALIDITY) if lv]
        right = [r[f'{name}/rhand'] for r, (_, rv) in zip(refs, VALIDITY) if rv]
        both = [np.mean([r[f'{name}/{s}'] for s, v in zip(('lhand', 'rhand'), val) if v])
                for r, val in zip(refs, VALIDITY) if any(val)]
        expected.update({f'{name}/lhand': np.mean(left), f'{name}/rhand': np.mean(right),
                         f'{name}/hands': np.mean(both)})
    assert set(ours) == set(expected)
    _assert_same(ours, expected)
    assert all(math.isfinite(v) for v in ours.values())


def test_official_switches_match_official_list_logic(body_model_path, case, per_sample_refs,
                                                     official_lists):
    preds, gts = case
    refs = per_sample_refs[True]
    # the crafted outliers really exceed 100 mm (only then is the switch exercised)
    assert refs[3]['pa-mpjpe/lhand'] > 100 and refs[5]['pa-mpjpe/rhand'] > 100
    assert all(r['pa-mpjpe/lhand'] < 100 and r['pa-mpjpe/rhand'] < 100
               for i, r in enumerate(refs) if i not in OUTLIERS)
    lists = official_lists(refs, [v[0] for v in VALIDITY], [v[1] for v in VALIDITY])
    metric = SMPLXMeshMetric(str(body_model_path), **SMPLXMeshMetric.OFFICIAL)
    ours = _run(metric, make_samples(preds, gts))
    with np.errstate(invalid='ignore'):
        expected = {k: float(np.mean(v)) for k, v in lists.items()}
    _assert_same(ours, expected)
    # the both-invalid sample turns every combined hand average into NaN, as official
    assert all(math.isnan(ours[f'{n}/hands']) for n in ('mpvpe', 'pa-mpvpe', 'mpjpe'))
    # the left-hand outlier of sample 3 also removed its valid, inlying right hand:
    # left keeps samples 0, 2, 5 and right only 0, 1
    assert refs[3]['pa-mpjpe/rhand'] < 100
    assert len(lists['pa-mpjpe/lhand']) == 3 and len(lists['pa-mpjpe/rhand']) == 2
    assert len(lists['pa-mpjpe/hands']) == 4  # samples 0, 1, 2 and 4 (0/0 = NaN)


def test_official_values_golden(body_model_path, case):
    preds, gts = case
    metric = SMPLXMeshMetric(str(body_model_path), **SMPLXMeshMetric.OFFICIAL)
    _assert_same(_run(metric, make_samples(preds, gts)), OFFICIAL_MEANS)


def test_each_switch_alone(body_model_path, case, per_sample_refs):
    preds, gts = case
    samples = make_samples(preds, gts)
    absolute = _run(SMPLXMeshMetric(str(body_model_path), official_hand_mpjpe_gt_absolute=True),
                    samples)
    ref_abs = per_sample_refs[True]
    assert abs(absolute['mpjpe/lhand']
               - np.mean([r['mpjpe/lhand'] for r, v in zip(ref_abs, VALIDITY) if v[0]])) < 1e-6
    assert absolute['mpjpe/lhand'] > 1000  # camera-frame GT: metres off
    outlier = _run(SMPLXMeshMetric(str(body_model_path), official_pa_hand_outlier_mm=100),
                   samples)
    default = _run(SMPLXMeshMetric(str(body_model_path)), samples)
    assert outlier['pa-mpjpe/lhand'] < default['pa-mpjpe/lhand']
    assert math.isfinite(outlier['pa-mpjpe/hands'])  # NaN switch off: sample 4 skipped
    nan_avg = _run(SMPLXMeshMetric(str(body_model_path), official_nan_hand_average=True), samples)
    assert math.isnan(nan_avg['mpvpe/hands'])
    assert nan_avg['mpvpe/lhand'] == default['mpvpe/lhand']


def test_invalid_hands_are_ignored(body_model_path, case):
    preds, gts = case
    preds = [p.copy() for p in preds]
    metric = SMPLXMeshMetric(str(body_model_path), parts=['hands'])
    before = _run(metric, make_samples(preds, gts))
    preds[1] += np.random.default_rng(0).normal(size=preds[1].shape)  # lhand invalid there
    preds[2][:] = 0.5  # rhand invalid there: a collapsed prediction
    # sample 1's right hand and sample 2's left hand are valid and change, so drop them
    validity = [(1.0, 1.0), (0.0, 0.0), (0.0, 0.0), (1.0, 1.0), (0.0, 0.0), (1.0, 1.0)]
    after = _run(metric, make_samples(preds, gts, validity))
    base = _run(metric, make_samples(case[0], gts, validity))
    assert after == base
    assert set(before) == {f'{m}/{p}' for m in ('mpvpe', 'pa-mpvpe', 'mpjpe', 'pa-mpjpe')
                           for p in ('lhand', 'rhand', 'hands')}


def test_accepts_data_samples_and_prefix(body_model_path, case):
    preds, gts = case
    from_dicts = _run(SMPLXMeshMetric(str(body_model_path), parts=['all']),
                      make_samples(preds, gts))
    metric = SMPLXMeshMetric(str(body_model_path), parts=['all'], prefix='EHF')
    from_objects = _run(metric, make_samples(preds, gts, as_dict=False))
    assert from_objects == {f'EHF/{k}': v for k, v in from_dicts.items()}
    # one small record per sample, no meshes
    metric.process({}, make_samples(preds[:2], gts[:2]))
    assert len(metric.results) == 2 and set(metric.results[0]) == {'mpvpe/all', 'pa-mpvpe/all'}


def test_missing_fields_and_bad_arguments(body_model_path, case, monkeypatch):
    preds, gts = case
    metric = SMPLXMeshMetric(str(body_model_path), parts=['face'])
    sample = make_samples(preds[:1], gts[:1])[0]
    del sample['pred_instances']['vertices']
    with pytest.raises(KeyError, match='pred_instances.vertices'):
        metric.process({}, [sample])
    bad = make_samples([preds[0][:10]], [gts[0][:10]])
    with pytest.raises(ValueError, match='vertices, expected'):
        metric.process({}, bad)
    with pytest.raises(ValueError, match='bad parts'):
        SMPLXMeshMetric(str(body_model_path), parts=['toes'])
    monkeypatch.delenv('SMPLESTX_BODY_MODELS', raising=False)
    with pytest.raises(BodyModelFilesError):
        SMPLXMeshMetric()
