"""Write a :class:`~.clip.MotionClip` as a skinned, animated glTF 2.0 binary (``.glb``).

The file (written with ``pygltflib``) holds:

* one skinned mesh: the person's shaped template (mean betas, expression zero), SMPL-X
  faces, smooth normals, and every non-zero SMPL-X skinning weight, four per
  ``JOINTS_n``/``WEIGHTS_n`` set, as many sets as the body model needs;
* the 55-joint SMPL-X skeleton (``smplx`` joint names), rest pose = the shaped T-pose with
  identity rotations, and the inverse bind matrices of that pose;
* the expression as morph targets ``expression_000`` ... (``mesh.extras.targetNames``);
* one animation at the video's frame rate (keyframe ``k`` at ``k / fps`` seconds, linear
  interpolation): every joint's rotation (hand mean included), the pelvis translation (the
  camera-consistent root trajectory), the translation of the joints whose rest position
  moves with the expression (``smplx`` regresses joints from the expressive template), and
  the morph weights;
* the video camera at the origin (glTF cameras look down -z with y up, which is exactly the
  OpenCV camera turned by :data:`~.trajectory.CV_TO_YUP`).

World: Y-up, metres, the video camera at the origin. glTF skinning (joint matrices times
inverse bind matrices) reproduces ``smplx``'s linear blend skinning exactly, without the
pose-corrective blend shapes, which glTF cannot carry. ``smplx`` regresses the joints from
the template with the expression applied, so an expression moves some rest joints (on the
real model possibly none): those joints' translations are animated, and each gets a helper
node ``<joint>_expression`` (a child, translated by minus that move) that skins its vertices
in its place, so joints and vertices both stay exact. Such helpers are extra joints of the
skin after the 55 SMPL-X joints.
"""

import dataclasses
from typing import Dict, List, Tuple

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation

from smplestx.utils.io import atomic_write_bytes
from smplestx.visualization.mesh_renderer import vertex_normals

from .clip import MotionClip
from .trajectory import CV_TO_YUP, VideoCamera

#: What the ``conventions`` extra of a GLB says.
CONVENTIONS = ('Y-up, metres, video camera at the origin looking down -z; SMPL-X hand mean '
               'included in the finger rotations; no pose correctives')

#: Influences per JOINTS_n / WEIGHTS_n set.
_SET_SIZE = 4


class BinaryBuilder:
    """Packs arrays into one buffer and makes their buffer views and accessors."""

    _TYPES = {1: pygltflib.SCALAR, 2: pygltflib.VEC2, 3: pygltflib.VEC3, 4: pygltflib.VEC4,
              16: pygltflib.MAT4}
    _COMPONENTS = {np.dtype(np.float32): pygltflib.FLOAT,
                   np.dtype(np.uint8): pygltflib.UNSIGNED_BYTE,
                   np.dtype(np.uint16): pygltflib.UNSIGNED_SHORT,
                   np.dtype(np.uint32): pygltflib.UNSIGNED_INT}

    def __init__(self, gltf: pygltflib.GLTF2) -> None:
        self.gltf = gltf
        self.chunks = []
        self.length = 0

    def add(self, array: np.ndarray, width: int, target=None, bounds: bool = False) -> int:
        """Append ``array`` (N x width elements) and return its accessor index."""
        array = np.ascontiguousarray(array)
        data = array.tobytes()
        self.chunks.append(data)
        view = pygltflib.BufferView(buffer=0, byteOffset=self.length, byteLength=len(data),
                                    target=target)
        if target == pygltflib.ARRAY_BUFFER and width * array.dtype.itemsize % 4 == 0 \
                and array.ndim == 2 and width > 1:
            view.byteStride = width * array.dtype.itemsize
        self.length += len(data)
        self.length += self._pad(len(data))
        self.gltf.bufferViews.append(view)
        flat = array.reshape(-1, width)
        accessor = pygltflib.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1, componentType=self._COMPONENTS[array.dtype],
            count=len(flat), type=self._TYPES[width])
        if bounds:
            accessor.min = [float(v) for v in flat.min(axis=0)]
            accessor.max = [float(v) for v in flat.max(axis=0)]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def _pad(self, size: int) -> int:
        pad = (-size) % 4
        if pad:
            self.chunks.append(b'\0' * pad)
        return pad

    def blob(self) -> bytes:
        """The whole binary buffer."""
        return b''.join(self.chunks)


def unit_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals; +y for vertices on no triangle."""
    normals = vertex_normals(vertices, faces)
    normals[np.linalg.norm(normals, axis=1) < 0.5] = (0.0, 1.0, 0.0)
    return normals


def skin_sets(weights: np.ndarray):
    """Every non-zero weight as (V, 4n) uint8 joints and (V, 4n) float32 weights.

    Influences are sorted by decreasing weight; unused slots are joint 0 with weight 0.
    """
    order = np.argsort(-weights, axis=1, kind='stable')
    count = int((weights > 0).sum(axis=1).max())
    slots = _SET_SIZE * max(1, -(-count // _SET_SIZE))
    joints = order[:, :slots]
    values = np.take_along_axis(weights, joints, axis=1)
    joints = np.where(values > 0, joints, 0)
    values = np.where(values > 0, values, 0.0)
    return joints.astype(np.uint8), values.astype(np.float32)


def continuous_quaternions(rotations: np.ndarray) -> np.ndarray:
    """(T, J, 4) xyzw quaternions of (T, J, 3, 3) rotations, sign-continuous over time."""
    shape = rotations.shape[:-2]
    quats = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_quat().reshape(*shape, 4)
    for t in range(1, shape[0]):
        flip = np.sum(quats[t] * quats[t - 1], axis=-1) < 0
        quats[t, flip] *= -1
    return quats


@dataclasses.dataclass
class PersonNodes:
    """Where :func:`add_person` put one person in a glTF document.

    Attributes:
        joints: Node of each of the 55 SMPL-X joints (the first is the root, ``pelvis``).
        helpers: Expression-moved joint -> its ``<joint>_expression`` helper node.
        mesh: Node of the skinned mesh.
    """

    joints: List[int]
    helpers: Dict[int, int]
    mesh: int

    @property
    def root(self) -> int:
        """The root joint node (``pelvis``)."""
        return self.joints[0]


def new_document() -> Tuple[pygltflib.GLTF2, BinaryBuilder]:
    """An empty glTF document with one buffer, and the builder that fills that buffer."""
    from smplestx import __version__

    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version='2.0',
                                                  generator=f'smplestx {__version__}'))
    gltf.buffers.append(pygltflib.Buffer())
    return gltf, BinaryBuilder(gltf)


def add_body_material(gltf: pygltflib.GLTF2) -> int:
    """Add the plain grey body material; returns its index."""
    gltf.materials.append(pygltflib.Material(
        name='body', pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=[0.7, 0.7, 0.7, 1.0], metallicFactor=0.1, roughnessFactor=0.6)))
    return len(gltf.materials) - 1


def add_person(gltf: pygltflib.GLTF2, data: BinaryBuilder, clip: MotionClip, material: int,
               joint_prefix: str = '') -> PersonNodes:
    """Add one person's skinned mesh, skeleton and skin (no animation) to a document.

    Args:
        gltf: The document.
        data: Its binary builder.
        clip: The person.
        material: Index of the mesh's material.
        joint_prefix: Put before every joint node name (e.g. ``'track_0003_'``), so that
            several people in one document have distinct joint names.

    Returns:
        The person's nodes; the root joint and the mesh node are not in a scene yet.
    """
    rig = clip.rig
    num_joints = len(rig.parents)

    # Mesh: shaped template, normals, skinning sets, expression morph targets.
    vertices = rig.rest_vertices.astype(np.float32)
    faces = rig.faces.astype(np.uint16 if len(vertices) < 65536 else np.uint32)
    attributes = {
        'POSITION': data.add(vertices, 3, pygltflib.ARRAY_BUFFER, bounds=True),
        'NORMAL': data.add(unit_normals(rig.rest_vertices, rig.faces).astype(np.float32), 3,
                           pygltflib.ARRAY_BUFFER)}
    helpers = [int(j) for j in rig.expression_moved_joints()]
    skin_weights = np.concatenate([rig.weights, rig.weights[:, helpers]], axis=1)
    skin_weights[:, helpers] = 0.0
    joints, weights = skin_sets(skin_weights)
    for n in range(joints.shape[1] // _SET_SIZE):
        cols = slice(n * _SET_SIZE, (n + 1) * _SET_SIZE)
        attributes[f'JOINTS_{n}'] = data.add(joints[:, cols], 4, pygltflib.ARRAY_BUFFER)
        attributes[f'WEIGHTS_{n}'] = data.add(weights[:, cols], 4, pygltflib.ARRAY_BUFFER)
    targets = [pygltflib.Attributes(POSITION=data.add(d.astype(np.float32), 3,
                                                      pygltflib.ARRAY_BUFFER, bounds=True))
               for d in np.transpose(rig.expression_dirs, (2, 0, 1))]
    for target in targets:
        for key in list(vars(target)):
            if getattr(target, key) is None:
                delattr(target, key)
    indices = data.add(faces.reshape(-1), 1, pygltflib.ELEMENT_ARRAY_BUFFER, bounds=True)
    primitive = pygltflib.Primitive(attributes=pygltflib.Attributes(**attributes),
                                    indices=indices, material=material, targets=targets)
    target_names = [f'expression_{k:03d}' for k in range(rig.num_expression)]
    mesh = len(gltf.meshes)
    gltf.meshes.append(pygltflib.Mesh(name=f'{clip.name}_body', primitives=[primitive],
                                      weights=[0.0] * rig.num_expression,
                                      extras={'targetNames': target_names}))

    # Skeleton: shaped T-pose, identity rotations; the pelvis carries the rest pelvis position.
    first = len(gltf.nodes)
    offsets = rig.rest_joints.copy()
    offsets[1:] -= rig.rest_joints[rig.parents[1:]]
    for j, name in enumerate(rig.joint_names):
        children = [first + int(c) for c in np.flatnonzero(rig.parents == j)]
        gltf.nodes.append(pygltflib.Node(name=joint_prefix + name,
                                         translation=offsets[j].tolist(),
                                         children=children or None))
    helper_nodes = []
    for j in helpers:
        helper_nodes.append(len(gltf.nodes))
        parent = gltf.nodes[first + j]
        parent.children = (parent.children or []) + [helper_nodes[-1]]
        gltf.nodes.append(pygltflib.Node(name=f'{joint_prefix}{rig.joint_names[j]}_expression'))
    skin_rest = np.concatenate([rig.rest_joints, rig.rest_joints[helpers]])
    inverse_bind = np.tile(np.eye(4), (len(skin_rest), 1, 1))
    inverse_bind[:, :3, 3] = -skin_rest
    joint_nodes = list(range(first, first + num_joints))
    gltf.skins.append(pygltflib.Skin(
        name=f'{clip.name}_skeleton', joints=joint_nodes + helper_nodes, skeleton=first,
        inverseBindMatrices=data.add(
            np.transpose(inverse_bind, (0, 2, 1)).astype(np.float32).reshape(-1, 16), 16)))
    mesh_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name=f'{clip.name}_body', mesh=mesh,
                                     skin=len(gltf.skins) - 1))
    return PersonNodes(joint_nodes, dict(zip(helpers, helper_nodes)), mesh_node)


def add_video_camera(gltf: pygltflib.GLTF2, camera: VideoCamera) -> int:
    """Add the video camera (node ``video_camera`` at the origin); returns its node."""
    gltf.cameras.append(pygltflib.Camera(
        name='video_camera', type=pygltflib.PERSPECTIVE,
        perspective=pygltflib.Perspective(yfov=camera.yfov, aspectRatio=camera.aspect_ratio,
                                          znear=0.01, zfar=1000.0)))
    gltf.nodes.append(pygltflib.Node(name='video_camera', camera=len(gltf.cameras) - 1))
    return len(gltf.nodes) - 1


class AnimationBuilder:
    """Collects the samplers and channels of one glTF animation.

    Args:
        data: The document's binary builder (keyframe times and values go there).
    """

    def __init__(self, data: BinaryBuilder) -> None:
        self.data = data
        self.samplers: List[pygltflib.AnimationSampler] = []
        self.channels: List[pygltflib.AnimationChannel] = []

    def times(self, seconds: np.ndarray) -> int:
        """Store keyframe times (K,) in seconds; returns their accessor."""
        return self.data.add(np.asarray(seconds).astype(np.float32), 1, bounds=True)

    def add(self, node: int, path: str, times: int, values: np.ndarray, width: int,
            interpolation: str = pygltflib.ANIM_LINEAR) -> None:
        """Animate ``path`` of ``node`` with keyframe times ``times`` and (K, width) values."""
        self.samplers.append(pygltflib.AnimationSampler(
            input=times, output=self.data.add(values.astype(np.float32), width),
            interpolation=interpolation))
        self.channels.append(pygltflib.AnimationChannel(
            sampler=len(self.samplers) - 1,
            target=pygltflib.AnimationChannelTarget(node=node, path=path)))

    def animation(self, name: str) -> pygltflib.Animation:
        """The animation of every channel added."""
        return pygltflib.Animation(name=name, samplers=self.samplers, channels=self.channels)


def add_person_channels(animation: AnimationBuilder, clip: MotionClip, nodes: PersonNodes,
                        times: np.ndarray) -> None:
    """Add one person's channels: root trajectory, joint rotations and translations, expression.

    Args:
        animation: Where the channels go.
        clip: The person.
        nodes: Its nodes (:func:`add_person`).
        times: (T,) time of each of the clip's frames, seconds.
    """
    rig = clip.rig
    root_rotation, root_position = clip.world_root(CV_TO_YUP)
    rotations = clip.rotations.copy()
    rotations[:, 0] = root_rotation
    quats = continuous_quaternions(rotations).astype(np.float32)
    keys = animation.times(times)
    joint = nodes.joints
    animation.add(joint[0], 'translation', keys, root_position, 3)
    rest = clip.rest_joints()
    for j in rig.offset_moved_joints():
        animation.add(joint[j], 'translation', keys, rest[:, j] - rest[:, rig.parents[j]], 3)
    for j, node in nodes.helpers.items():
        animation.add(node, 'translation', keys, rig.rest_joints[j] - rest[:, j], 3)
    for j in range(len(rig.parents)):
        animation.add(joint[j], 'rotation', keys, quats[:, j], 4)
    animation.add(nodes.mesh, 'weights', keys, clip.expression.reshape(-1, 1), 1)


def frame_extras(clip: MotionClip) -> dict:
    """A clip's frames, as the GLB extras record them."""
    return {'first_frame': int(clip.frame_index[0]), 'num_frames': clip.num_frames,
            'observed_frames': int(clip.observed.sum()),
            'interpolated_frames': clip.frame_index[~clip.observed].tolist()}


def camera_extras(camera: VideoCamera) -> dict:
    """The video camera, as the GLB extras record it."""
    return {'focal': camera.focal, 'principal_point': list(camera.principal_point),
            'image_size': list(camera.image_size)}


def finish_document(gltf: pygltflib.GLTF2, data: BinaryBuilder) -> pygltflib.GLTF2:
    """Attach the binary buffer to the document and return it."""
    gltf.buffers[0].byteLength = data.length
    gltf.set_binary_blob(data.blob())
    return gltf


def build_gltf(clip: MotionClip) -> pygltflib.GLTF2:
    """The glTF document of one clip (binary blob attached); its first frame at time 0."""
    gltf, data = new_document()
    nodes = add_person(gltf, data, clip, add_body_material(gltf))
    camera_node = add_video_camera(gltf, clip.camera)
    gltf.scenes.append(pygltflib.Scene(name=clip.name,
                                       nodes=[nodes.root, nodes.mesh, camera_node]))
    gltf.scene = 0
    animation = AnimationBuilder(data)
    add_person_channels(animation, clip, nodes, clip.times)
    gltf.animations.append(animation.animation(clip.name))
    gltf.scenes[0].extras = {
        'fps': clip.fps, **frame_extras(clip), 'video_camera': camera_extras(clip.camera),
        'betas': clip.rig.betas.tolist(), 'gender': clip.rig.gender,
        'conventions': CONVENTIONS}
    return finish_document(gltf, data)


def save_glb(gltf: pygltflib.GLTF2, path: str) -> str:
    """Write a document as a ``.glb`` file (atomically) and return ``path``."""
    atomic_write_bytes(path, b''.join(gltf.save_to_bytes()))
    return path


def write_glb(clip: MotionClip, path: str) -> str:
    """Write the clip as a ``.glb`` file (atomically) and return ``path``."""
    return save_glb(build_gltf(clip), path)
