"""Shared pieces of the animation tests.

* ``exported``: a synthetic tracked person (6 frames with a gap) exported once per session;
* ``scene_exported``: two synthetic tracks of one video with different frame ranges, their
  own GLBs and their ``scene.glb``;
* ``gltf_validator`` / ``threejs_pose``: the Khronos glTF-Validator's report of a file, and
  three.js's posed joints and vertices of every skinned mesh of a file at given times (both
  run by node; the tests skip only where node is missing);
* ``smplx_world``: ``smplx``'s joints and vertices of a track, in the Y-up export world;
* ``GltfScene``: an independent glTF skinning evaluator, written from the glTF 2.0 spec. It
  shares no code with the exporter: pygltflib only parses the file; accessors are decoded
  here, node transforms composed from TRS, animation samplers read at a keyframe or sampled
  at a time (clamp, STEP, LINEAR with slerp), morph targets added, then the vertices of a
  skinned mesh skinned with ``sum_i w_i * world(joint_i) @ IBM_i``.
"""

import json
import os.path as osp
import shutil
import subprocess

import numpy as np
import pygltflib
import pytest
import smplx
import torch

from smplestx.apis.animation import (
    AnimationWriter,
    clip_from_track,
    export_track_animation,
    load_shape_space,
)
from smplestx.testing.motion import synthetic_track
from smplestx.utils.io import atomic_write_npz

#: OpenCV camera axes -> the Y-up export world (180 degrees about x), written out here
#: rather than imported, so the tests state the convention independently.
CAMERA_TO_YUP = np.diag([1.0, -1.0, -1.0])
#: Video frames of the synthetic track: frame 3 is missing (a gap the export fills).
FRAMES = (0, 1, 2, 4, 5, 6)
FPS = 25.0


_DTYPES = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
           5126: np.float32}
_WIDTHS = {'SCALAR': 1, 'VEC2': 2, 'VEC3': 3, 'VEC4': 4, 'MAT4': 16}


def _field(obj, name: str):
    """A glTF attribute by name, whether pygltflib parsed it as a dict or an object."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


class GltfScene:
    """A parsed ``.glb`` with helpers to pose it at a keyframe."""

    def __init__(self, path: str) -> None:
        self.gltf = pygltflib.GLTF2().load(str(path))
        self.blob = self.gltf.binary_blob()

    def accessor(self, index: int) -> np.ndarray:
        """Decode an accessor into an (count, width) array."""
        acc = self.gltf.accessors[index]
        view = self.gltf.bufferViews[acc.bufferView]
        dtype = np.dtype(_DTYPES[acc.componentType])
        width = _WIDTHS[acc.type]
        stride = view.byteStride or dtype.itemsize * width
        start = (view.byteOffset or 0) + (acc.byteOffset or 0)
        return np.ndarray((acc.count, width), dtype, buffer=self.blob, offset=start,
                          strides=(stride, dtype.itemsize)).copy()

    def node_index(self, name: str) -> int:
        """Index of the node called ``name``."""
        return next(i for i, n in enumerate(self.gltf.nodes) if n.name == name)

    def _trs(self, value_at):
        """Per-node (translation, rotation xyzw, scale) and per-node morph weights.

        ``value_at(times, values, interpolation, path)`` picks a channel's value.
        """
        trs = []
        for node in self.gltf.nodes:
            trs.append([np.array(node.translation or [0.0, 0.0, 0.0], dtype=np.float64),
                        np.array(node.rotation or [0.0, 0.0, 0.0, 1.0], dtype=np.float64),
                        np.array(node.scale or [1.0, 1.0, 1.0], dtype=np.float64)])
        weights = {}
        for animation in self.gltf.animations:
            for channel in animation.channels:
                sampler = animation.samplers[channel.sampler]
                times = self.accessor(sampler.input)[:, 0].astype(np.float64)
                values = self.accessor(sampler.output).astype(np.float64)
                node, path = channel.target.node, channel.target.path
                if path == 'weights':
                    values = values.reshape(len(times), -1)
                value = value_at(times, values, sampler.interpolation or 'LINEAR', path)
                if path == 'weights':
                    weights[node] = value
                    continue
                slot = {'translation': 0, 'rotation': 1, 'scale': 2}[path]
                trs[node][slot] = value
        return trs, weights

    def keyframe_trs(self, frame: int):
        """Per-node (translation, rotation xyzw, scale) and mesh weights at keyframe ``frame``."""
        return self._trs(lambda times, values, interpolation, path: values[frame])

    def trs_at(self, time: float):
        """Per-node TRS and mesh weights at ``time`` seconds, sampled by the glTF rules.

        Clamped outside the keyframes; STEP holds the last keyframe at or before ``time``;
        LINEAR interpolates (rotations by slerp).
        """

        def value_at(times, values, interpolation, path):
            if time <= times[0]:
                return values[0]
            if time >= times[-1]:
                return values[-1]
            k = int(np.searchsorted(times, time, side='right')) - 1
            if interpolation == 'STEP':
                return values[k]
            assert interpolation == 'LINEAR', interpolation
            w = (time - times[k]) / (times[k + 1] - times[k])
            a, b = values[k], values[k + 1]
            if path != 'rotation':
                return (1 - w) * a + w * b
            dot = float(np.dot(a, b))
            if dot < 0:
                b, dot = -b, -dot
            angle = np.arccos(min(dot, 1.0))
            if angle < 1e-9:
                return (1 - w) * a + w * b
            return (np.sin((1 - w) * angle) * a + np.sin(w * angle) * b) / np.sin(angle)

        return self._trs(value_at)

    def world_matrices(self, trs) -> np.ndarray:
        """(N, 4, 4) world matrix of every node (scene hierarchy, parents first)."""
        local = []
        for translation, quat, scale in trs:
            x, y, z, w = quat / np.linalg.norm(quat)
            rot = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
            m = np.eye(4)
            m[:3, :3] = rot * scale
            m[:3, 3] = translation
            local.append(m)
        world = [None] * len(local)

        def visit(index: int, parent: np.ndarray) -> None:
            world[index] = parent @ local[index]
            for child in self.gltf.nodes[index].children or []:
                visit(child, world[index])

        for root in self.gltf.scenes[self.gltf.scene].nodes:
            visit(root, np.eye(4))
        return np.stack(world)

    def mesh_nodes(self):
        """Indices of the nodes that hold a mesh, in node order."""
        return [i for i, n in enumerate(self.gltf.nodes) if n.mesh is not None]

    def posed(self, frame: int, mesh_node=None):
        """World joint positions (J, 3) of the skin and skinned vertices (V, 3) at a keyframe.

        ``mesh_node``: the skinned mesh to pose (default: the first).
        """
        return self._skinned(*self.keyframe_trs(frame), mesh_node)

    def posed_at(self, time: float, mesh_node=None):
        """Like :meth:`posed`, at ``time`` seconds."""
        return self._skinned(*self.trs_at(time), mesh_node)

    def _skinned(self, trs, morph, mesh_node):
        world = self.world_matrices(trs)
        if mesh_node is None:
            mesh_node = self.mesh_nodes()[0]
        skin = self.gltf.skins[self.gltf.nodes[mesh_node].skin]
        ibm = self.accessor(skin.inverseBindMatrices).astype(np.float64).reshape(-1, 4, 4)
        ibm = np.transpose(ibm, (0, 2, 1))  # column-major in the file
        joint_mats = world[skin.joints] @ ibm
        primitive = self.gltf.meshes[self.gltf.nodes[mesh_node].mesh].primitives[0]
        attrs = vars(primitive.attributes)
        positions = self.accessor(attrs['POSITION']).astype(np.float64)
        weights = morph.get(mesh_node)
        for k, target in enumerate(primitive.targets or []):
            if weights is not None and weights[k] != 0:
                positions = positions + weights[k] * self.accessor(
                    _field(target, 'POSITION')).astype(np.float64)
        homogeneous = np.concatenate([positions, np.ones((len(positions), 1))], axis=1)
        skinned = np.zeros((len(positions), 4))
        sets = sorted(int(k.split('_')[1]) for k in attrs if k.startswith('JOINTS_') and
                      attrs[k] is not None)
        for n in sets:
            joints = self.accessor(attrs[f'JOINTS_{n}']).astype(np.int64)
            wts = self.accessor(attrs[f'WEIGHTS_{n}']).astype(np.float64)
            for c in range(4):
                skinned += wts[:, c, None] * np.einsum('vij,vj->vi', joint_mats[joints[:, c]],
                                                       homogeneous)
        return world[skin.joints][:, :3, 3], skinned[:, :3]


#: Pinned npm packages (the Khronos glTF-Validator and three.js), and where ``.ci/run``
#: installs them; otherwise they are installed once into the user cache.
NPM_PACKAGES = ('gltf-validator@2.0.0-dev.3.10', 'three@0.170.0')
NPM_DIRS = (osp.join(osp.dirname(__file__), '..', '..', '..', '.ci', 'npm'),
            osp.expanduser('~/.cache/smplestx/npm'))
VALIDATOR_JS = osp.join(osp.dirname(__file__), 'validate_gltf.js')
THREE_JS = osp.join(osp.dirname(__file__), 'three_pose.mjs')


def _node() -> str:
    node = shutil.which('node')
    if node is None:
        pytest.skip('node is not installed: the glTF-Validator and three.js checks run on node')
    return node


def _npm_modules() -> str:
    """``node_modules`` holding :data:`NPM_PACKAGES`; installed into the cache when missing."""
    names = [p.rsplit('@', 1)[0] for p in NPM_PACKAGES]
    for folder in NPM_DIRS:
        modules = osp.join(osp.abspath(folder), 'node_modules')
        if all(osp.isdir(osp.join(modules, name)) for name in names):
            return modules
    folder = osp.abspath(NPM_DIRS[-1])
    subprocess.run(['npm', 'install', '--prefix', folder, '--no-audit', '--no-fund',
                    *NPM_PACKAGES], check=True, capture_output=True)
    return osp.join(folder, 'node_modules')


def validate_gltf(path) -> dict:
    """The Khronos glTF-Validator's ``issues`` report of one file."""
    out = subprocess.run([_node(), VALIDATOR_JS, str(path)], check=True, capture_output=True,
                         text=True, env={'NODE_PATH': _npm_modules()})
    return json.loads(out.stdout)[0]['issues']


def threejs_posed(path, times) -> list:
    """Per time: ``{'time', 'meshes': {name: {'joints', 'vertices', 'morph'}}}`` from three.js."""
    out = subprocess.run([_node(), THREE_JS, _npm_modules(), str(path),
                          *[repr(float(t)) for t in times]], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)


@pytest.fixture(scope='session')
def gltf_validator():
    """The :func:`validate_gltf` function."""
    return validate_gltf


@pytest.fixture(scope='session')
def threejs_pose():
    """The :func:`threejs_posed` function."""
    return threejs_posed


@pytest.fixture(scope='session')
def gltf_scene():
    """The :class:`GltfScene` reader class."""
    return GltfScene


@pytest.fixture(scope='session')
def smplx_reference():
    """The :func:`smplx_world` function."""
    return smplx_world


@pytest.fixture(scope='session')
def shape_space(body_model_path):
    """The stand-in SMPL-X as the exporter loads it."""
    return load_shape_space(str(body_model_path))


@pytest.fixture(scope='session')
def exported(tmp_path_factory, body_model_path, shape_space):
    """Track file, truth, clip and the GLB/BVH/AMASS files of a 6-frame synthetic person."""
    root = tmp_path_factory.mktemp('animation')
    track, truth = synthetic_track(str(body_model_path), num_frames=len(FRAMES),
                                   frame_index=FRAMES, fps=FPS, betas_noise=0.05, seed=3)
    path = root / 'clip' / 'tracks' / 'track_0007.npz'
    atomic_write_npz(path, track)
    files = export_track_animation(str(path), shape_space=shape_space, focal=700.0)
    clip = clip_from_track(str(path), shape_space, focal=700.0)
    return {'track': track, 'truth': truth, 'clip': clip, 'files': files, 'path': path,
            'frames': FRAMES, 'fps': FPS}


#: The tracks of ``scene_exported``: name -> (video frames, motion seed). Frames 3 and 6
#: are gaps; the second track starts late, the first ends early.
SCENE_TRACKS = {'track_0001': ((0, 1, 2, 4, 5, 6), 3), 'track_0002': ((3, 4, 5, 7, 8, 9, 10), 5)}


@pytest.fixture(scope='session')
def scene_exported(tmp_path_factory, body_model_path, shape_space):
    """``scene.glb`` and the per-track GLBs of two tracks, written by one AnimationWriter."""
    root = tmp_path_factory.mktemp('scene') / 'video'
    writer = AnimationWriter(('glb', 'scene'), str(root / 'animation'), 'video')
    for name, (frames, seed) in SCENE_TRACKS.items():
        track, _ = synthetic_track(str(body_model_path), num_frames=len(frames),
                                   frame_index=frames, fps=FPS, seed=seed, betas_noise=0.05)
        path = root / 'tracks' / f'{name}.npz'
        atomic_write_npz(path, track)
        writer.add(clip_from_track(str(path), shape_space, focal=700.0))
    return {'scene': writer.finish(), 'fps': FPS,
            'frames': {name: frames for name, (frames, _) in SCENE_TRACKS.items()},
            'last': max(frames[-1] for frames, _ in SCENE_TRACKS.values()),
            'glb': {name: str(root / 'animation' / f'{name}.glb') for name in SCENE_TRACKS}}


def smplx_world(body_model_path, track, transl, posedirs: bool = True, lbs_weights=None):
    """``smplx`` joints (T, 55, 3) and vertices (T, V, 3) of a track's own parameters.

    The shape is the track's mean betas, the hand poses are the track's (relative to the hand
    mean, ``flat_hand_mean=False``), ``transl`` is given, and the result is turned into the
    Y-up export world. ``posedirs=False`` zeroes the pose-corrective blend shapes;
    ``lbs_weights`` (V, 55) replaces the skinning weights.
    """
    num = len(transl)
    model = smplx.create(str(body_model_path), 'smplx', gender='neutral', use_pca=False,
                         flat_hand_mean=False, num_betas=10, num_expression_coeffs=10,
                         batch_size=num)
    if not posedirs:
        model.posedirs = torch.zeros_like(model.posedirs)
    if lbs_weights is not None:
        model.lbs_weights = torch.as_tensor(lbs_weights, dtype=model.lbs_weights.dtype)
    keys = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
            'expression')
    params = {k: torch.as_tensor(np.asarray(track[k], dtype=np.float32)) for k in keys}
    betas = np.asarray(track['betas'], dtype=np.float64).mean(axis=0)
    params['betas'] = torch.as_tensor(np.tile(betas, (num, 1)), dtype=torch.float32)
    params['transl'] = torch.as_tensor(np.asarray(transl), dtype=torch.float32)
    with torch.no_grad():
        out = model(**params)
    joints = out.joints[:, :55].double().numpy() @ CAMERA_TO_YUP.T
    vertices = out.vertices.double().numpy() @ CAMERA_TO_YUP.T
    return joints, vertices
