"""One GLB with every person of a video (or of an image): ``animation/scene.glb``.

The scene holds, for each person (a :class:`~.clip.MotionClip`, e.g. one track), exactly
what that person's own ``track_<id>.glb`` holds (:func:`.glb.add_person`,
:func:`.glb.add_person_channels`): the skinned mesh of its shape, its 55-joint skeleton,
the expression morph targets and its channels. On top of that:

* joint node names carry the person's name: ``<person>_<joint>`` (``track_0003_pelvis``,
  ``track_0003_head_expression``); ``_`` because three.js strips ``: . / [ ]`` from node
  names and Unreal does not allow them in object names;
* one video camera (node ``video_camera``) at the origin, shared by everyone;
* one animation with every person's channels at **absolute** times: video frame ``f`` at
  ``f / fps`` seconds, so the people stay in sync (a track that starts at frame 40 gets
  its first keyframe at ``40 / fps``; its gaps are filled as in its own file);
* each person is hidden outside its frames by a ``STEP`` ``scale`` channel on its root
  joint: 0 before its first frame, 1 from half a frame before its first frame to half a
  frame after its last, 0 after. Scale 0 on the root collapses the whole skeleton, hence
  every skinned vertex, into one point. Core glTF 2.0 has no visibility property
  (``KHR_node_visibility`` needs ``KHR_animation_pointer`` to be animated, which three.js
  r170 and many importers do not read), so a zero scale is the way every viewer sees.
  Switching half a frame away from the frame times keeps a viewer that samples exactly at
  ``f / fps`` (times are float32) on the right side of the switch.

The scene's ``extras`` list the people (name, root node, frames) and the video camera.
:class:`~.export.AnimationWriter` writes it (format ``'scene'``).
"""

import dataclasses
from typing import List, Optional, Tuple

import numpy as np
import pygltflib

from .clip import MotionClip
from .glb import (
    CONVENTIONS,
    AnimationBuilder,
    PersonNodes,
    add_body_material,
    add_person,
    add_person_channels,
    add_video_camera,
    camera_extras,
    finish_document,
    frame_extras,
    new_document,
)
from .trajectory import VideoCamera

#: File name of the scene in an input's ``animation/`` folder.
SCENE_FILE = 'scene.glb'


def visibility_keys(first: int, last: int, scene_last: int) -> Tuple[np.ndarray, np.ndarray]:
    """STEP keyframes of a person's root scale: (K,) times in frames and (K,) scales (0 or 1).

    Args:
        first: The person's first video frame.
        last: Its last video frame.
        scene_last: The last video frame of the scene (time 0 is video frame 0).
    """
    frames, scales = [], []
    if first > 0:
        frames.append(0.0)
        scales.append(0.0)
    frames.append(max(first - 0.5, 0.0))
    scales.append(1.0)
    if last < scene_last:
        frames.append(last + 0.5)
        scales.append(0.0)
    return np.asarray(frames), np.asarray(scales)


@dataclasses.dataclass
class _Person:
    name: str
    nodes: PersonNodes
    first: int
    last: int
    extras: dict


class SceneBuilder:
    """Adds people one by one (only one clip needs to be in memory) into one glTF document.

    Args:
        name: Name of the glTF scene and animation (e.g. the video's name).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.gltf, self.data = new_document()
        self.material = add_body_material(self.gltf)
        self.animation = AnimationBuilder(self.data)
        self.people: List[_Person] = []
        self.fps: Optional[float] = None
        self.camera: Optional[VideoCamera] = None

    def add(self, clip: MotionClip) -> None:
        """Add one person, its channels at absolute times ``frame / fps``.

        Raises:
            ValueError: If the clip's name is taken, or its frame rate or camera differs from
                the people already added (they must come from one video).
        """
        if any(p.name == clip.name for p in self.people):
            raise ValueError(f'scene {self.name}: two people are called {clip.name}')
        if self.people and (clip.fps != self.fps or clip.camera != self.camera):
            raise ValueError(
                f'scene {self.name}: {clip.name} has another frame rate or video camera '
                f'({clip.fps} fps, {clip.camera}) than {self.people[0].name} ({self.fps} fps, '
                f'{self.camera}): a scene takes the people of one video')
        self.fps, self.camera = clip.fps, clip.camera
        nodes = add_person(self.gltf, self.data, clip, self.material,
                           joint_prefix=f'{clip.name}_')
        add_person_channels(self.animation, clip, nodes, clip.frame_index / clip.fps)
        first, last = int(clip.frame_index[0]), int(clip.frame_index[-1])
        extras = {'name': clip.name, 'root_node': nodes.root, 'mesh_node': nodes.mesh,
                  **frame_extras(clip), 'last_frame': last, 'betas': clip.rig.betas.tolist(),
                  'gender': clip.rig.gender}
        self.people.append(_Person(clip.name, nodes, first, last, extras))

    def build(self) -> pygltflib.GLTF2:
        """The document (binary blob attached), with the visibility channels and camera.

        Raises:
            ValueError: If no person was added.
        """
        if not self.people:
            raise ValueError(f'scene {self.name}: no person to put in it')
        scene_last = max(p.last for p in self.people)
        for person in self.people:
            frames, scales = visibility_keys(person.first, person.last, scene_last)
            self.animation.add(person.nodes.root, 'scale',
                               self.animation.times(frames / self.fps),
                               np.repeat(scales[:, None], 3, axis=1), 3, pygltflib.ANIM_STEP)
        camera_node = add_video_camera(self.gltf, self.camera)
        roots = [p.nodes.root for p in self.people] + [p.nodes.mesh for p in self.people]
        self.gltf.scenes.append(pygltflib.Scene(name=self.name, nodes=roots + [camera_node]))
        self.gltf.scene = 0
        self.gltf.animations.append(self.animation.animation(self.name))
        self.gltf.scenes[0].extras = {
            'fps': self.fps, 'first_frame': 0, 'last_frame': scene_last,
            'video_camera': camera_extras(self.camera),
            'people': [p.extras for p in self.people],
            'conventions': CONVENTIONS + '; time 0 is video frame 0 (frame f at f / fps); '
                           'joint nodes are named <person>_<joint>; a person is hidden '
                           '(root scale 0) outside its frames'}
        return finish_document(self.gltf, self.data)
