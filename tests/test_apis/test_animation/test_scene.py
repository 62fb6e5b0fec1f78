"""``scene.glb``: every track of a video in one GLB, in sync, each hidden outside its frames.

Two synthetic tracks with different frame ranges and gaps: ``track_0001`` (frames 0-6, 3
missing) and ``track_0002`` (frames 3-10, 6 missing). The scene is read back by the tests'
own glTF evaluator (``conftest.GltfScene``) at absolute times ``frame / fps`` and compared
with each track's own GLB, by the Khronos glTF-Validator, and by three.js.
"""

import dataclasses

import numpy as np
import pytest

from smplestx.apis.animation import SMPLX_JOINT_NAMES, SceneBuilder
from smplestx.apis.animation.scene import visibility_keys

#: 0.1 mm, as for the per-track files.
TOL_M = 1e-4


def _people(gltf_scene, path):
    """The scene and its ``people`` extras by name."""
    read = gltf_scene(path)
    return read, {p['name']: p for p in read.gltf.scenes[0].extras['people']}


def _range(scene, name):
    """First and last video frame of a track."""
    frames = scene['frames'][name]
    return frames[0], frames[-1]


@pytest.fixture
def scene(scene_exported):
    """The two-track scene of ``conftest.scene_exported``."""
    return scene_exported


def test_scene_layout(scene, gltf_scene):
    read, people = _people(gltf_scene, scene['scene'])
    gltf, fps = read.gltf, scene['fps']
    assert scene['scene'].endswith('animation/scene.glb')
    assert list(people) == list(scene['frames'])
    names = [n.name for n in gltf.nodes]
    assert len(names) == len(set(names))
    helpers = ('head', 'jaw', 'left_eye_smplhf', 'right_eye_smplhf')
    for name, person in people.items():
        skin = gltf.skins[gltf.nodes[person['mesh_node']].skin]
        assert [names[j] for j in skin.joints] == (
            [f'{name}_{j}' for j in SMPLX_JOINT_NAMES] + [f'{name}_{j}_expression'
                                                          for j in helpers])
        assert skin.joints[0] == person['root_node'] and names[person['root_node']] == (
            f'{name}_pelvis')
        first, last = _range(scene, name)
        assert (person['first_frame'], person['last_frame']) == (first, last)
        assert person['interpolated_frames'] == sorted(set(range(first, last + 1)) -
                                                       set(scene['frames'][name]))
    # One camera at the origin, every person's root and mesh plus the camera in the scene.
    (camera, ) = [n for n in gltf.nodes if n.camera is not None]
    assert camera.name == 'video_camera' and camera.translation is None and len(gltf.cameras) == 1
    roots = gltf.scenes[0].nodes
    assert sorted(roots) == sorted([p['root_node'] for p in people.values()] +
                                   [p['mesh_node'] for p in people.values()] +
                                   [names.index('video_camera')])
    assert gltf.scenes[0].extras['fps'] == scene['fps']
    assert gltf.scenes[0].extras['last_frame'] == scene['last']
    # One animation, absolute times: each root translation starts at its first frame / fps.
    (animation, ) = gltf.animations
    for name, person in people.items():
        for channel in animation.channels:
            if channel.target.node == person['root_node']:
                sampler = animation.samplers[channel.sampler]
                times = read.accessor(sampler.input)[:, 0]
                first, last = _range(scene, name)
                if channel.target.path == 'translation':
                    np.testing.assert_allclose(times, np.arange(first, last + 1) / fps,
                                               atol=1e-6)
                if channel.target.path == 'scale':
                    assert sampler.interpolation == 'STEP'
                    frames, scales = visibility_keys(first, last, scene['last'])
                    np.testing.assert_allclose(times, frames / fps, atol=1e-6)
                    np.testing.assert_array_equal(read.accessor(sampler.output)[:, 0], scales)


def test_visibility_keys():
    # Late start and early end: hidden, shown half a frame before 3, hidden after 6.5.
    frames, scales = visibility_keys(3, 6, 10)
    assert frames.tolist() == [0.0, 2.5, 6.5] and scales.tolist() == [0.0, 1.0, 0.0]
    assert visibility_keys(0, 10, 10)[0].tolist() == [0.0]
    assert visibility_keys(0, 4, 10)[1].tolist() == [1.0, 0.0]


def test_scene_poses_each_track_like_its_own_glb(scene, gltf_scene):
    """At absolute time f / fps, each person of the scene is its own GLB at keyframe f - first
    (interpolated frames included), within 0.1 mm."""
    read, people = _people(gltf_scene, scene['scene'])
    worst = 0.0
    for name, person in people.items():
        own = gltf_scene(scene['glb'][name])
        first, last = _range(scene, name)
        for frame in range(first, last + 1):
            joints, vertices = read.posed_at(frame / scene['fps'], person['mesh_node'])
            own_joints, own_vertices = own.posed(frame - first)
            worst = max(worst, np.abs(joints - own_joints).max(),
                        np.linalg.norm(vertices - own_vertices, axis=1).max())
            assert np.abs(joints - own_joints).max() < TOL_M, f'{name} frame {frame}'
            assert np.linalg.norm(vertices - own_vertices, axis=1).max() < TOL_M, (
                f'{name} frame {frame}')
    print(f'scene vs own GLB: max {worst * 1000:.6f} mm')


def test_people_are_hidden_outside_their_frames(scene, gltf_scene):
    """Outside its frames a person's skeleton and mesh collapse to one point (root scale 0).

    "One point" within 1 micrometre: the vertices land on ``sum_i w_i * pelvis``, and the
    float32 weights sum to 1 only within ~1e-7, the pelvis being a few metres away.
    """
    read, people = _people(gltf_scene, scene['scene'])
    for name, person in people.items():
        first, last = _range(scene, name)
        for frame in range(scene['last'] + 1):
            joints, vertices = read.posed_at(frame / scene['fps'], person['mesh_node'])
            extent = np.ptp(np.concatenate([joints, vertices]), axis=0).max()
            if first <= frame <= last:
                assert extent > 0.5, f'{name} hidden at frame {frame}'
            else:
                assert extent < 1e-6, f'{name} visible at frame {frame}'


def test_khronos_gltf_validator_reports_nothing_on_the_scene(scene, gltf_validator):
    issues = gltf_validator(scene['scene'])
    assert (issues['numErrors'], issues['numWarnings']) == (0, 0), issues['messages']
    assert issues['numInfos'] == 0 and issues['numHints'] == 0, issues['messages']


def test_threejs_plays_the_scene(scene, gltf_scene, threejs_pose):
    """three.js poses every person of the scene as the glTF rules do, hides it outside its
    frames, and keeps the joint names."""
    read, people = _people(gltf_scene, scene['scene'])
    frames = (1, 4, 8)
    posed = threejs_pose(scene['scene'], [f / scene['fps'] for f in frames])
    for name, person in people.items():
        first, last = _range(scene, name)
        for frame, result in zip(frames, posed):
            mesh = result['meshes'][f'{name}_body']
            assert list(mesh['joints'])[:55] == [f'{name}_{j}' for j in SMPLX_JOINT_NAMES]
            vertices = np.array(mesh['vertices']).reshape(-1, 3)
            _, expected = read.posed_at(frame / scene['fps'], person['mesh_node'])
            assert np.linalg.norm(vertices - expected, axis=1).max() < TOL_M, (name, frame)
            assert (np.ptp(vertices, axis=0).max() > 0.5) == (first <= frame <= last)


def test_scene_takes_the_people_of_one_video(exported):
    clip = exported['clip']
    builder = SceneBuilder('video')
    with pytest.raises(ValueError, match='no person to put in it'):
        builder.build()
    builder.add(clip)
    with pytest.raises(ValueError, match=f'two people are called {clip.name}'):
        builder.add(clip)
    other = dataclasses.replace(clip, name='track_0099',
                                camera=dataclasses.replace(clip.camera, focal=900.0))
    with pytest.raises(ValueError, match='track_0099 has another frame rate or video camera'):
        builder.add(other)
    with pytest.raises(ValueError, match='another frame rate'):
        builder.add(dataclasses.replace(clip, name='track_0098', fps=clip.fps * 2))
