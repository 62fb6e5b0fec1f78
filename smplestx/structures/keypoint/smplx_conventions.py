"""SMPL-X joint conventions used by SMPLest-X (names, index maps, flip pairs, parts).

Three joint sets appear in the model and the data pipeline:

* the **144 smplx-layer joints** (``use_face_contour=True``): 55 LBS joints, 21 vertex-picked
  joints (nose, eyes, ears, feet, finger tips), 51 static face landmarks and 17 dynamic contour
  landmarks;
* the **137 supervision joints** (25 body + 20 left hand + 20 right hand + 72 face) that the
  losses, the 2D projection and the datasets use;
* the **53 rotation joints** (22 body + 15 left hand + 15 right hand + jaw) that order the
  flattened pose parameters (159 = 53 x 3) and the pose-parameter loss.

All index maps are plain tuples of ints so that they index numpy arrays and torch tensors alike.
"""

from typing import Dict, Tuple

import numpy as np

# --------------------------------------------------------------------------------------------
# 137-joint supervision set
# --------------------------------------------------------------------------------------------
_HAND_FINGERS = ('Thumb', 'Index', 'Middle', 'Ring', 'Pinky')


def _hand_names(side: str) -> Tuple[str, ...]:
    return tuple(f'{side}_{finger}_{k}' for finger in _HAND_FINGERS for k in range(1, 5))


SMPLX_137_BODY_NAMES: Tuple[str, ...] = (
    'Pelvis', 'L_Hip', 'R_Hip', 'L_Knee', 'R_Knee', 'L_Ankle', 'R_Ankle', 'Neck', 'L_Shoulder',
    'R_Shoulder', 'L_Elbow', 'R_Elbow', 'L_Wrist', 'R_Wrist', 'L_Big_toe', 'L_Small_toe',
    'L_Heel', 'R_Big_toe', 'R_Small_toe', 'R_Heel', 'L_Ear', 'R_Ear', 'L_Eye', 'R_Eye', 'Nose')

#: Names of the 137 supervision joints, in order.
SMPLX_137_JOINT_NAMES: Tuple[str, ...] = (
    SMPLX_137_BODY_NAMES + _hand_names('L') + _hand_names('R')
    + tuple(f'Face_{i}' for i in range(1, 73)))

#: Index ranges of the parts of the 137-joint set.
SMPLX_137_PARTS: Dict[str, range] = {
    'body': range(0, 25),
    'lhand': range(25, 45),
    'rhand': range(45, 65),
    'hand': range(25, 65),
    'face': range(65, 137),
}

ROOT_IDX = 0
NECK_IDX = 7
LWRIST_IDX = 12
RWRIST_IDX = 13

_FACE_FROM_144 = (22, 15, 57, 56) + tuple(range(76, 144))

#: Picks the 137 supervision joints from the 144 smplx-layer joints (the model's
#: ``joint_idx``): body, left hand (thumb, index, middle, ring, pinky; 3 LBS joints + tip
#: vertex each), right hand, then jaw, head, eyeballs (57, 56) and the 68 face landmarks.
SMPLX_137_FROM_144: Tuple[int, ...] = (
    0, 1, 2, 4, 5, 7, 8, 12, 16, 17, 18, 19, 20, 21, 60, 61, 62, 63, 64, 65, 59, 58, 57, 56, 55,
    37, 38, 39, 66, 25, 26, 27, 67, 28, 29, 30, 68, 34, 35, 36, 69, 31, 32, 33, 70,
    52, 53, 54, 71, 40, 41, 42, 72, 43, 44, 45, 73, 49, 50, 51, 74, 46, 47, 48, 75,
) + _FACE_FROM_144

#: Picks the 137 supervision joints from HumanData's 144/190 SMPL-X keypoints (the official
#: ``SMPLX_137_MAPPING``). It equals :data:`SMPLX_137_FROM_144` except that the eyeball pair
#: (Face_3, Face_4 = 137-set indices 67, 68) is ``56, 57`` instead of ``57, 56``: the official
#: ground-truth eyeballs are L/R-swapped relative to the prediction. Kept as-is for parity.
SMPLX_137_FROM_HUMANDATA: Tuple[int, ...] = (
    SMPLX_137_FROM_144[:67] + (56, 57) + SMPLX_137_FROM_144[69:])

#: Left/right pairs of the 137-joint set (body, hands, eyeballs, eyebrows, nose, eyes,
#: mouth, lips, face contour).
SMPLX_137_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (8, 9), (10, 11), (12, 13), (14, 17), (15, 18), (16, 19),
    (20, 21), (22, 23),
) + tuple((i, i + 20) for i in range(25, 45)) + (
    (67, 68),
    (69, 78), (70, 77), (71, 76), (72, 75), (73, 74),
    (83, 87), (84, 86),
    (88, 97), (89, 96), (90, 95), (91, 94), (92, 99), (93, 98),
    (100, 106), (101, 105), (102, 104), (107, 111), (108, 110),
    (112, 116), (113, 115), (117, 119),
    (120, 136), (121, 135), (122, 134), (123, 133), (124, 132), (125, 131), (126, 130),
    (127, 129),
)

# --------------------------------------------------------------------------------------------
# 53-joint rotation set (pose-parameter order: root, 21 body, 15 lhand, 15 rhand, jaw)
# --------------------------------------------------------------------------------------------
SMPLX_BODY_JOINT_NAMES: Tuple[str, ...] = (
    'Pelvis', 'L_Hip', 'R_Hip', 'Spine_1', 'L_Knee', 'R_Knee', 'Spine_2', 'L_Ankle', 'R_Ankle',
    'Spine_3', 'L_Foot', 'R_Foot', 'Neck', 'L_Collar', 'R_Collar', 'Head', 'L_Shoulder',
    'R_Shoulder', 'L_Elbow', 'R_Elbow', 'L_Wrist', 'R_Wrist')

_MANO_ORDER = ('Index', 'Middle', 'Pinky', 'Ring', 'Thumb')


def _rot_hand_names(side: str) -> Tuple[str, ...]:
    return tuple(f'{side}_{finger}_{k}' for finger in _MANO_ORDER for k in range(1, 4))


#: Names of the 53 rotation joints (SMPL-X/MANO hand order: index, middle, pinky, ring, thumb).
SMPLX_ROT53_JOINT_NAMES: Tuple[str, ...] = (
    SMPLX_BODY_JOINT_NAMES + _rot_hand_names('L') + _rot_hand_names('R') + ('Jaw', ))

#: Index ranges of the parts of the 53-joint rotation set.
SMPLX_ROT53_PARTS: Dict[str, range] = {
    'body': range(0, 22),
    'lhand': range(22, 37),
    'rhand': range(37, 52),
    'face': range(52, 53),
}

#: Left/right pairs of the rotation set (body pairs, then left/right hand joint by joint).
SMPLX_ROT53_FLIP_PAIRS: Tuple[Tuple[int, int], ...] = (
    (1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21),
) + tuple((i, i + 15) for i in range(22, 37))

ROT53_LWRIST_IDX = 20
ROT53_RWRIST_IDX = 21
ROT53_LTHUMB1_IDX = 34
ROT53_RTHUMB1_IDX = 49

#: Parents of the 22 SMPL-X body joints (kinematic tree; -1 for the pelvis).
SMPLX_BODY_PARENTS: Tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

#: Rows of the SMPL-X ``J_regressor`` (55 LBS joints) used by the evaluation.
J_REGRESSOR_IDX: Dict[str, int] = {'pelvis': 0, 'lwrist': 20, 'rwrist': 21, 'neck': 12}

#: SMPL-X hand mean poses (15 joints x axis-angle, MANO joint order). Datasets annotated with
#: ``flat_hand_mean=True`` subtract these to reach the ``flat_hand_mean=False`` convention.
HANDS_MEAN_RIGHT: np.ndarray = np.array([
    0.11167871, -0.04289218, 0.41644183, 0.10881133, 0.06598568, 0.75622, -0.09639297,
    0.09091566, 0.18845929, -0.11809504, -0.05094385, 0.5295845, -0.14369841, -0.0552417,
    0.7048571, -0.01918292, 0.09233685, 0.3379135, -0.45703298, 0.19628395, 0.6254575,
    -0.21465237, 0.06599829, 0.50689423, -0.36972436, 0.06034463, 0.07949023, -0.1418697,
    0.08585263, 0.63552827, -0.3033416, 0.05788098, 0.6313892, -0.17612089, 0.13209307,
    0.37335458, 0.8509643, -0.27692273, 0.09154807, -0.49983943, -0.02655647, -0.05288088,
    0.5355592, -0.04596104, 0.27735803]).reshape(15, 3)
#: The left-hand mean: the right-hand mean mirrored (y and z negated).
HANDS_MEAN_LEFT: np.ndarray = HANDS_MEAN_RIGHT * np.array([1.0, -1.0, -1.0])

#: Picks the 14 LSP body joints from the 24 SMPL joints (3DPW evaluation).
LSP14_FROM_SMPL24: Tuple[int, ...] = (1, 2, 4, 5, 7, 8, 12, 15, 16, 17, 18, 19, 20, 21)

__all__ = [
    'SMPLX_137_JOINT_NAMES', 'SMPLX_137_BODY_NAMES', 'SMPLX_137_PARTS', 'SMPLX_137_FROM_144',
    'SMPLX_137_FROM_HUMANDATA', 'SMPLX_137_FLIP_PAIRS', 'ROOT_IDX', 'NECK_IDX', 'LWRIST_IDX',
    'RWRIST_IDX', 'SMPLX_BODY_JOINT_NAMES', 'SMPLX_ROT53_JOINT_NAMES', 'SMPLX_ROT53_PARTS',
    'SMPLX_ROT53_FLIP_PAIRS', 'ROT53_LWRIST_IDX', 'ROT53_RWRIST_IDX', 'ROT53_LTHUMB1_IDX',
    'ROT53_RTHUMB1_IDX', 'SMPLX_BODY_PARENTS', 'J_REGRESSOR_IDX', 'HANDS_MEAN_LEFT',
    'HANDS_MEAN_RIGHT', 'LSP14_FROM_SMPL24'
]
