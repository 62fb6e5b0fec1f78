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

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation

from smplestx.utils.io import atomic_write_bytes
from smplestx.visualization.mesh_renderer import vertex_normals

from .clip import MotionClip
from .trajectory import CV_TO_YUP

#: Influences per JOINTS_n / WEIGHTS_n set.
_SET_SIZE = 4


class _BinaryBuilder:
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


def build_gltf(clip: MotionClip) -> pygltflib.GLTF2:
    """The glTF document of a clip (binary blob attached)."""
    from smplestx import __version__

    rig = clip.rig
    gltf = pygltflib.GLTF2(asset=pygltflib.Asset(version='2.0',
                                                  generator=f'smplestx {__version__}'))
    gltf.buffers.append(pygltflib.Buffer())
    data = _BinaryBuilder(gltf)
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
    gltf.materials.append(pygltflib.Material(
        name='body', pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
            baseColorFactor=[0.7, 0.7, 0.7, 1.0], metallicFactor=0.1, roughnessFactor=0.6)))
    primitive = pygltflib.Primitive(attributes=pygltflib.Attributes(**attributes),
                                    indices=indices, material=0, targets=targets)
    target_names = [f'expression_{k:03d}' for k in range(rig.num_expression)]
    gltf.meshes.append(pygltflib.Mesh(name=f'{clip.name}_body', primitives=[primitive],
                                      weights=[0.0] * rig.num_expression,
                                      extras={'targetNames': target_names}))

    # Skeleton: shaped T-pose, identity rotations; the pelvis carries the rest pelvis position.
    offsets = rig.rest_joints.copy()
    offsets[1:] -= rig.rest_joints[rig.parents[1:]]
    for j, name in enumerate(rig.joint_names):
        children = [int(c) for c in np.flatnonzero(rig.parents == j)]
        gltf.nodes.append(pygltflib.Node(name=name, translation=offsets[j].tolist(),
                                         children=children or None))
    helper_nodes = []
    for j in helpers:
        helper_nodes.append(len(gltf.nodes))
        gltf.nodes[j].children = (gltf.nodes[j].children or []) + [helper_nodes[-1]]
        gltf.nodes.append(pygltflib.Node(name=f'{rig.joint_names[j]}_expression'))
    skin_rest = np.concatenate([rig.rest_joints, rig.rest_joints[helpers]])
    inverse_bind = np.tile(np.eye(4), (len(skin_rest), 1, 1))
    inverse_bind[:, :3, 3] = -skin_rest
    gltf.skins.append(pygltflib.Skin(
        name=f'{clip.name}_skeleton', joints=list(range(num_joints)) + helper_nodes, skeleton=0,
        inverseBindMatrices=data.add(
            np.transpose(inverse_bind, (0, 2, 1)).astype(np.float32).reshape(-1, 16), 16)))
    mesh_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name=f'{clip.name}_body', mesh=0, skin=0))
    camera = clip.camera
    gltf.cameras.append(pygltflib.Camera(
        name='video_camera', type=pygltflib.PERSPECTIVE,
        perspective=pygltflib.Perspective(yfov=camera.yfov, aspectRatio=camera.aspect_ratio,
                                          znear=0.01, zfar=1000.0)))
    camera_node = len(gltf.nodes)
    gltf.nodes.append(pygltflib.Node(name='video_camera', camera=0))
    gltf.scenes.append(pygltflib.Scene(name=clip.name, nodes=[0, mesh_node, camera_node]))
    gltf.scene = 0

    _add_animation(gltf, data, clip, mesh_node, dict(zip(helpers, helper_nodes)))
    gltf.scenes[0].extras = {
        'fps': clip.fps, 'first_frame': int(clip.frame_index[0]),
        'num_frames': clip.num_frames, 'observed_frames': int(clip.observed.sum()),
        'interpolated_frames': clip.frame_index[~clip.observed].tolist(),
        'video_camera': {'focal': camera.focal, 'principal_point': list(camera.principal_point),
                         'image_size': list(camera.image_size)},
        'betas': rig.betas.tolist(), 'gender': rig.gender,
        'conventions': 'Y-up, metres, video camera at the origin looking down -z; SMPL-X hand '
                       'mean included in the finger rotations; no pose correctives'}
    gltf.buffers[0].byteLength = data.length
    gltf.set_binary_blob(data.blob())
    return gltf


def _add_animation(gltf: pygltflib.GLTF2, data: _BinaryBuilder, clip: MotionClip,
                   mesh_node: int, helper_nodes: dict) -> None:
    rig = clip.rig
    root_rotation, root_position = clip.world_root(CV_TO_YUP)
    rotations = clip.rotations.copy()
    rotations[:, 0] = root_rotation
    quats = continuous_quaternions(rotations).astype(np.float32)
    times = data.add(clip.times.astype(np.float32), 1, bounds=True)
    samplers, channels = [], []

    def channel(node: int, path: str, values: np.ndarray, width: int) -> None:
        samplers.append(pygltflib.AnimationSampler(
            input=times, output=data.add(values.astype(np.float32), width),
            interpolation=pygltflib.ANIM_LINEAR))
        channels.append(pygltflib.AnimationChannel(
            sampler=len(samplers) - 1, target=pygltflib.AnimationChannelTarget(node=node,
                                                                               path=path)))

    channel(0, 'translation', root_position, 3)
    rest = clip.rest_joints()
    for j in rig.offset_moved_joints():
        channel(int(j), 'translation', rest[:, j] - rest[:, rig.parents[j]], 3)
    for j, node in helper_nodes.items():
        channel(node, 'translation', rig.rest_joints[j] - rest[:, j], 3)
    for j in range(len(rig.parents)):
        channel(j, 'rotation', quats[:, j], 4)
    channel(mesh_node, 'weights', clip.expression.reshape(-1, 1), 1)
    gltf.animations.append(pygltflib.Animation(name=clip.name, samplers=samplers,
                                               channels=channels))


def write_glb(clip: MotionClip, path: str) -> str:
    """Write the clip as a ``.glb`` file (atomically) and return ``path``."""
    gltf = build_gltf(clip)
    atomic_write_bytes(path, b''.join(gltf.save_to_bytes()))
    return path
