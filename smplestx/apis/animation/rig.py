"""The SMPL-X rig of one person: skeleton, shaped rest mesh, skinning weights, expression shapes.

All arrays come from the ``smplx`` layer's own buffers (through
:class:`~smplestx.models.body_models.SMPLXBodyModel`), in float64, so the exported files are
posed exactly as ``smplx`` poses the same parameters.
"""

import dataclasses
from typing import Optional, Tuple

import numpy as np
from smplx.joint_names import JOINT_NAMES

#: Number of SMPL-X skeleton joints (body 22, jaw, 2 eyes, 2 x 15 finger joints).
NUM_JOINTS = 55
#: The skeleton joint names, in ``smplx``'s order and spelling.
SMPLX_JOINT_NAMES: Tuple[str, ...] = tuple(JOINT_NAMES[:NUM_JOINTS])
#: First joint of each pose block of ``smplx``'s full pose (axis-angle, 3 values per joint).
POSE_BLOCKS = {'global_orient': 0, 'body_pose': 1, 'jaw_pose': 22, 'leye_pose': 23,
               'reye_pose': 24, 'left_hand_pose': 25, 'right_hand_pose': 40}
#: Expression offsets below this (metres per unit coefficient) count as "no effect".
EXPRESSION_EPS = 1e-9


@dataclasses.dataclass
class BodyRig:
    """The SMPL-X skinning rig of one shape (``betas``), expression left free.

    Attributes:
        parents: (55,) parent of each joint (-1 for the pelvis).
        rest_joints: (55, 3) joints of the shaped template (metres, SMPL-X model axes:
            y up, z forward), expression zero.
        joint_expression_dirs: (55, 3, E) how the rest joints move per expression unit
            (``smplx`` regresses joints from the template with the expression applied).
        rest_vertices: (V, 3) shaped template vertices, expression zero.
        expression_dirs: (V, 3, E) expression blend shapes.
        weights: (V, 55) linear-blend-skinning weights (rows sum to 1).
        faces: (F, 3) triangles.
        hand_mean: (90,) the SMPL-X hand mean (left 45, then right 45), axis-angle.
        betas: (B,) the shape coefficients used.
        gender: Body-model gender.
    """

    parents: np.ndarray
    rest_joints: np.ndarray
    joint_expression_dirs: np.ndarray
    rest_vertices: np.ndarray
    expression_dirs: np.ndarray
    weights: np.ndarray
    faces: np.ndarray
    hand_mean: np.ndarray
    betas: np.ndarray
    gender: str

    @property
    def joint_names(self) -> Tuple[str, ...]:
        """The 55 ``smplx`` joint names."""
        return SMPLX_JOINT_NAMES

    @property
    def num_expression(self) -> int:
        """Number of expression coefficients (E)."""
        return self.expression_dirs.shape[-1]

    def expression_moved_joints(self) -> np.ndarray:
        """Indices of the joints whose rest position changes with the expression."""
        moved = np.abs(self.joint_expression_dirs).max(axis=(1, 2)) > EXPRESSION_EPS
        return np.flatnonzero(moved)

    def offset_moved_joints(self) -> np.ndarray:
        """Joints (not the pelvis) whose offset from their parent changes with the expression."""
        moved = np.zeros(len(self.parents), dtype=bool)
        moved[self.expression_moved_joints()] = True
        varying = moved.copy()
        varying[1:] |= moved[self.parents[1:]]
        varying[0] = False
        return np.flatnonzero(varying)

    def joints_at(self, expression: np.ndarray) -> np.ndarray:
        """(T, 55, 3) rest joints with each frame's ``expression`` (T, E) applied."""
        expression = np.asarray(expression, dtype=np.float64).reshape(-1, self.num_expression)
        return self.rest_joints + np.einsum('jck,tk->tjc', self.joint_expression_dirs, expression)


class ShapeSpace:
    """The ``smplx`` layer's arrays needed to shape a rig (float64), and the layer itself.

    Args:
        layer: An ``smplx`` SMPL-X layer (``use_pca=False``, ``flat_hand_mean=False``).
    """

    def __init__(self, layer) -> None:
        def array(name: str) -> np.ndarray:
            return getattr(layer, name).detach().cpu().double().numpy()

        self.layer = layer
        self.v_template = array('v_template')
        self.shapedirs = array('shapedirs')
        self.expr_dirs = array('expr_dirs')
        self.j_regressor = array('J_regressor')
        self.weights = array('lbs_weights')
        self.parents = layer.parents.detach().cpu().numpy().astype(np.int64)
        self.parents[0] = -1
        self.faces = np.asarray(layer.faces, dtype=np.int64)
        self.hand_mean = np.concatenate([array('left_hand_mean').reshape(-1),
                                         array('right_hand_mean').reshape(-1)])

    def template(self, betas: np.ndarray) -> np.ndarray:
        """(V, 3) template shaped by ``betas`` (B,), expression zero."""
        betas = np.asarray(betas, dtype=np.float64).reshape(-1)[:self.shapedirs.shape[-1]]
        return self.v_template + self.shapedirs[..., :betas.size] @ betas

    def rest_joints(self, betas: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """(T, 55, 3) rest joints of per-frame betas (T, B) and expression (T, E)."""
        betas = np.asarray(betas, dtype=np.float64)
        expression = np.asarray(expression, dtype=np.float64)
        shape = np.einsum('jv,vck->jck', self.j_regressor, self.shapedirs[..., :betas.shape[-1]])
        expr = np.einsum('jv,vck->jck', self.j_regressor,
                         self.expr_dirs[..., :expression.shape[-1]])
        return (self.j_regressor @ self.v_template + np.einsum('jck,tk->tjc', shape, betas) +
                np.einsum('jck,tk->tjc', expr, expression))


def forward_kinematics(rotations: np.ndarray, rest_joints: np.ndarray,
                       parents: np.ndarray) -> np.ndarray:
    """(T, J, 3) posed joints (root at its rest position) of local rotations (T, J, 3, 3).

    Args:
        rotations: Local joint rotations; joint 0 is the root orientation.
        rest_joints: (T, J, 3) or (J, 3) rest joint positions.
        parents: (J,) parent indices, parents before children, -1 for the root.
    """
    rest = np.broadcast_to(rest_joints, rotations.shape[:-2] + (3, ))
    world_rot = np.empty_like(rotations)
    posed = np.empty(rest.shape)
    world_rot[:, 0], posed[:, 0] = rotations[:, 0], rest[:, 0]
    for j in range(1, len(parents)):
        p = parents[j]
        world_rot[:, j] = world_rot[:, p] @ rotations[:, j]
        posed[:, j] = posed[:, p] + np.einsum('tij,tj->ti', world_rot[:, p],
                                              rest[:, j] - rest[:, p])
    return posed


def load_shape_space(body_model_dir: Optional[str] = None, gender: str = 'neutral') -> ShapeSpace:
    """Load the ``smplx`` layer (``use_pca=False``, ``flat_hand_mean=False``) of a gender.

    Args:
        body_model_dir: Folder holding ``smplx/SMPLX_{GENDER}.npz``; ``None`` uses
            ``$SMPLESTX_BODY_MODELS``.
        gender: ``'neutral'``, ``'male'`` or ``'female'``.

    Returns:
        An object with the layer's template, blend shapes, regressor, weights, parents,
        faces and hand mean as float64 arrays (a :class:`ShapeSpace`).
    """
    from smplestx.models.body_models import SMPLXBodyModel

    return ShapeSpace(SMPLXBodyModel(body_model_dir, gender=gender).smplx_layer)


def build_rig(shape_space: ShapeSpace, betas: np.ndarray, gender: str = 'neutral') -> BodyRig:
    """The rig of one shape.

    Args:
        shape_space: From :func:`load_shape_space`.
        betas: (B,) shape coefficients.
        gender: Recorded in the rig.

    Returns:
        The :class:`BodyRig`.
    """
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    vertices = shape_space.template(betas)
    num_expr = shape_space.expr_dirs.shape[-1]
    return BodyRig(
        parents=shape_space.parents.copy(),
        rest_joints=shape_space.j_regressor @ vertices,
        joint_expression_dirs=np.einsum('jv,vck->jck', shape_space.j_regressor,
                                        shape_space.expr_dirs[..., :num_expr]),
        rest_vertices=vertices,
        expression_dirs=shape_space.expr_dirs.copy(),
        weights=shape_space.weights.copy(),
        faces=shape_space.faces.copy(),
        hand_mean=shape_space.hand_mean.copy(),
        betas=betas,
        gender=gender)
