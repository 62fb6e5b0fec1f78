r"""Import an exported GLB and BVH into Blender (``bpy``) and report what Blender sees.

Runs under a Python that has ``bpy`` (``pip install bpy``: Blender as a module; bpy 5.0.1 is
the one that installs for Python 3.11, 821 MB installed, so it is kept out of the project's
environment). It needs nothing from smplestx::

    python -m venv .venv-bpy && .venv-bpy/bin/pip install bpy==5.0.1
    .venv-bpy/bin/python tools/misc/blender_check.py --glb track_0000.glb \
        --bvh track_0000.bvh --fps 25 --out blender_report.json

For each file it sets the scene's frame rate (GLB: to ``--fps``, as a user would before
importing; BVH: the importer's "update scene fps" from the file's ``Frame Time``), imports it
with Blender's own add-ons, then per frame records in Blender's world (Z up): the height of
the ``head`` joint and of the two ``*_foot`` joints, the keyframe numbers of the action, and
the local rotation angle (degrees) of each finger joint, measured between a joint and its
parent as the change from the rest pose (independent of Blender's bone axes).
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


def main(argv=None) -> int:
    """Check the files and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--glb', help='exported .glb')
    parser.add_argument('--bvh', help='exported .bvh')
    parser.add_argument('--fps', type=float, default=30.0, help='frame rate to import GLB at')
    parser.add_argument('--out', help='JSON report (default: stdout)')
    args = parser.parse_args(argv)
    report = {'blender': bpy.app.version_string}
    if args.glb:
        report['glb'] = check_glb(args.glb, args.fps)
    if args.bvh:
        report['bvh'] = check_bvh(args.bvh)
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
