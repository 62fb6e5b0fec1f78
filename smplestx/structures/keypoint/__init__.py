"""Keypoint conventions."""

from .smplx_conventions import (
                                HANDS_MEAN_LEFT,
                                HANDS_MEAN_RIGHT,
                                J_REGRESSOR_IDX,
                                LSP14_FROM_SMPL24,
                                LWRIST_IDX,
                                NECK_IDX,
                                ROOT_IDX,
                                ROT53_LTHUMB1_IDX,
                                ROT53_LWRIST_IDX,
                                ROT53_RTHUMB1_IDX,
                                ROT53_RWRIST_IDX,
                                RWRIST_IDX,
                                SMPLX_137_BODY_NAMES,
                                SMPLX_137_FLIP_PAIRS,
                                SMPLX_137_FROM_144,
                                SMPLX_137_FROM_HUMANDATA,
                                SMPLX_137_JOINT_NAMES,
                                SMPLX_137_PARTS,
                                SMPLX_BODY_JOINT_NAMES,
                                SMPLX_BODY_PARENTS,
                                SMPLX_ROT53_FLIP_PAIRS,
                                SMPLX_ROT53_JOINT_NAMES,
                                SMPLX_ROT53_PARTS,
)

__all__ = [
    'SMPLX_137_JOINT_NAMES', 'SMPLX_137_BODY_NAMES', 'SMPLX_137_PARTS', 'SMPLX_137_FROM_144',
    'SMPLX_137_FROM_HUMANDATA', 'SMPLX_137_FLIP_PAIRS', 'ROOT_IDX', 'NECK_IDX', 'LWRIST_IDX',
    'RWRIST_IDX', 'SMPLX_BODY_JOINT_NAMES', 'SMPLX_ROT53_JOINT_NAMES', 'SMPLX_ROT53_PARTS',
    'SMPLX_ROT53_FLIP_PAIRS', 'ROT53_LWRIST_IDX', 'ROT53_RWRIST_IDX', 'ROT53_LTHUMB1_IDX',
    'ROT53_RTHUMB1_IDX', 'SMPLX_BODY_PARENTS', 'J_REGRESSOR_IDX', 'HANDS_MEAN_LEFT',
    'HANDS_MEAN_RIGHT', 'LSP14_FROM_SMPL24'
]
