import numpy as np

from smplestx.datasets import HumanDataset
from smplestx.datasets.utils.annotation_table import HumanDataOptions, build_annotation_table
from smplestx.structures.keypoint import (
    HANDS_MEAN_LEFT,
    HANDS_MEAN_RIGHT,
    LWRIST_IDX,
    RWRIST_IDX,
    SMPLX_137_PARTS,
)

LHAND = list(SMPLX_137_PARTS['lhand']) + [LWRIST_IDX]
RHAND = list(SMPLX_137_PARTS['rhand']) + [RWRIST_IDX]


def test_flat_hand_mean_validity_is_decided_on_the_stored_annotation(humandata_factory):
    """A missing (all-zero) hand stays invalid after the hand mean is subtracted.

    The official loader subtracts the mean first and then tests for zeros, so the missing left
    hand of sample 0 would become a valid ``-mean`` pose, and the annotated right hand of
    sample 1 (equal to the mean, so zero after the conversion) would be dropped.
    """
    rng = np.random.default_rng(5)
    lhand = rng.normal(0, 0.2, (6, 15, 3)).astype(np.float32)
    rhand = rng.normal(0, 0.2, (6, 15, 3)).astype(np.float32)
    lhand[0] = 0
    rhand[1] = HANDS_MEAN_RIGHT
    path, _ = humandata_factory(smplx_extra=dict(left_hand_pose=lhand, right_hand_pose=rhand))

    cols, _ = build_annotation_table(path, HumanDataOptions(flat_hand_mean=True))
    np.testing.assert_array_equal(cols['lhand_valid'], [False] + [True] * 5)
    np.testing.assert_array_equal(cols['rhand_valid'], [True] * 6)
    # the conversion itself still happens, for every annotated hand
    np.testing.assert_allclose(cols['left_hand_pose'][1:], lhand[1:] - HANDS_MEAN_LEFT,
                               atol=1e-6)
    np.testing.assert_allclose(cols['right_hand_pose'][1], 0, atol=1e-6)
    # the keypoints (and wrist) of the missing hand are invalid, those of the others valid
    valid = cols['keypoints_valid']
    assert not valid[0, LHAND].any() and valid[1:, LHAND].all() and valid[:, RHAND].all()
    # validity does not depend on the convention of the stored poses
    plain, _ = build_annotation_table(path, HumanDataOptions())
    for key in ('lhand_valid', 'rhand_valid', 'keypoints_valid'):
        np.testing.assert_array_equal(cols[key], plain[key])

    missing = HumanDataset(path, flat_hand_mean=True).get_data_info(0)
    assert not missing['smplx_valid']['lhand'] and missing['smplx_valid']['rhand']
