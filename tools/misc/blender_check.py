r"""Import an exported GLB and BVH into Blender (``bpy``) and report what Blender sees.

Runs under a Python that has ``bpy`` (``pip install bpy``: Blender as a module; bpy 5.0.1 is
the one that installs for Python 3.11, 821 MB installed, so it is kept out of the project's
environment). It needs nothing from smplestx::

    python -m venv .venv-bpy && .venv-bpy/bin/pip install bpy==5.0.1
    .venv-bpy/bin/python tools/misc/blender_check.py --glb track_0000.glb \
        --bvh track_0000.bvh --fps 25 --out blender_report.json
    .venv-bpy/bin/python tools/misc/blender_check.py --scene scene.glb --fps 25 \
        --last-frame 10

For each file it sets the scene's frame rate (GLB: to ``--fps``, as a user would before
importing; BVH: the importer's "update scene fps" from the file's ``Frame Time``), imports it
with Blender's own add-ons, then per frame records in Blender's world (Z up): the height of
the ``head`` joint and of the two ``*_foot`` joints, the keyframe numbers of the action, and
the local rotation angle (degrees) of each finger joint, measured between a joint and its
parent as the change from the rest pose (independent of Blender's bone axes). For a
``scene.glb`` it records the armatures and actions Blender made and, per person (mesh
``<person>_body``) and frame ``0 .. --last-frame``, the size of its deformed mesh and the
height of its ``<person>_head`` bone above its lower foot.
"""

import argparse
import json
import math
import sys

import bpy

FINGERS = [f'{side}_{finger}{k}' for side in ('left', 'right')
           for finger in ('index', 'middle', 'pinky', 'ring', 'thumb') for k in (1, 2, 3)]


def _reset() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _armature():
    return next(o for o in bpy.context.scene.objects if o.type == 'ARMATURE')


def _keyframes(obj) -> list:
    action = obj.animation_data.action if obj.animation_data else None
    frames = set()
    if action is not None:
        fcurves = getattr(action, 'fcurves', None)
        if fcurves is None:  # Blender 5 layered actions
            fcurves = [fc for layer in action.layers for strip in layer.strips
                       for bag in strip.channelbags for fc in bag.fcurves]
        for curve in fcurves:
            frames.update(round(k.co[0], 4) for k in curve.keyframe_points)
    return sorted(frames)


def _angle(matrix) -> float:
    quat = matrix.to_quaternion()
    return math.degrees(2 * math.acos(min(1.0, abs(quat.w))))


def _sample(obj, frames) -> dict:
    scene = bpy.context.scene
    bones = obj.pose.bones
    out = {'head_z': [], 'left_foot_z': [], 'right_foot_z': [], 'fingers_deg': []}
    for frame in frames:
        scene.frame_set(int(frame))
        world = obj.matrix_world
        for name in ('head', 'left_foot', 'right_foot'):
            out[f'{name}_z'].append((world @ bones[name].head).z)
        angles = {}
        for name in FINGERS:
            bone = bones[name]
            deform = bone.matrix @ bone.bone.matrix_local.inverted()
            parent = bone.parent
            parent_deform = parent.matrix @ parent.bone.matrix_local.inverted()
            angles[name] = _angle(parent_deform.inverted() @ deform)
        out['fingers_deg'].append(angles)
    return out


def check_glb(path: str, fps: float) -> dict:
    """Import a GLB at ``fps`` and sample it."""
    _reset()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), 1.0
    bpy.ops.import_scene.gltf(filepath=path)
    obj = _armature()
    frames = _keyframes(obj)
    report = {'file': path, 'scene_fps': scene.render.fps / scene.render.fps_base,
              'keyframes': frames, 'bones': len(obj.pose.bones),
              'meshes': sum(o.type == 'MESH' for o in scene.objects)}
    report.update(_sample(obj, frames))
    return report


def check_bvh(path: str) -> dict:
    """Import a BVH (centimetres, Y up) and sample it."""
    _reset()
    bpy.ops.import_anim.bvh(filepath=path, global_scale=0.01, update_scene_fps=True,
                            update_scene_duration=True, axis_forward='-Z', axis_up='Y')
    scene = bpy.context.scene
    obj = _armature()
    frames = _keyframes(obj)
    report = {'file': path, 'scene_fps': scene.render.fps / scene.render.fps_base,
              'keyframes': frames, 'bones': len(obj.pose.bones)}
    report.update(_sample(obj, frames))
    return report


def _extent(points) -> float:
    return max(max(p[i] for p in points) - min(p[i] for p in points) for i in range(3))


def check_scene(path: str, fps: float, last_frame: int) -> dict:
    """Import a ``scene.glb`` at ``fps`` and sample every person at frames 0..last_frame."""
    _reset()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), 1.0
    bpy.ops.import_scene.gltf(filepath=path)
    armatures = [o for o in scene.objects if o.type == 'ARMATURE']
    meshes = {o.name.split('_body')[0]: o for o in scene.objects
              if o.type == 'MESH' and '_body' in o.name}
    people = {}
    for person, mesh in meshes.items():
        bones = [(arm, bone) for arm in armatures for bone in arm.pose.bones
                 if bone.name.startswith(f'{person}_')]
        rows = {'mesh_extent': [], 'head_minus_foot': []}
        for frame in range(last_frame + 1):
            scene.frame_set(frame)
            evaluated = mesh.evaluated_get(bpy.context.evaluated_depsgraph_get())
            rows['mesh_extent'].append(_extent([evaluated.matrix_world @ v.co
                                                for v in evaluated.data.vertices]))
            z = {bone.name[len(person) + 1:]: (arm.matrix_world @ bone.head).z
                 for arm, bone in bones}
            rows['head_minus_foot'].append(z['head'] - min(z['left_foot'], z['right_foot']))
        people[person] = dict(rows, bones=len(bones))
    return {'file': path, 'scene_fps': scene.render.fps / scene.render.fps_base,
            'armatures': {a.name: len(a.pose.bones) for a in armatures},
            'actions': [a.name for a in bpy.data.actions], 'people': people}


def main(argv=None) -> int:
    """Check the files and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--glb', help='exported .glb')
    parser.add_argument('--bvh', help='exported .bvh')
    parser.add_argument('--scene', help='exported scene.glb')
    parser.add_argument('--last-frame', type=int, default=0,
                        help='scene: sample frames 0 .. this one')
    parser.add_argument('--fps', type=float, default=30.0, help='frame rate to import GLB at')
    parser.add_argument('--out', help='JSON report (default: stdout)')
    args = parser.parse_args(argv)
    report = {'blender': bpy.app.version_string}
    if args.glb:
        report['glb'] = check_glb(args.glb, args.fps)
    if args.bvh:
        report['bvh'] = check_bvh(args.bvh)
    if args.scene:
        report['scene'] = check_scene(args.scene, args.fps, args.last_frame)
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
