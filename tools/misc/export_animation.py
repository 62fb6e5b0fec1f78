r"""Export demo track files (``tracks/track_<id>.npz``) as GLB, BVH and AMASS-layout animation.

Examples::

    python tools/misc/export_animation.py outputs/demo/clip/tracks/track_0000.npz
    python tools/misc/export_animation.py outputs/demo/clip/tracks/*.npz --format glb bvh \
        --out-dir outputs/animation --fov 60
    python tools/misc/export_animation.py outputs/demo/clip/tracks/*.npz --format scene

Each track gives ``<out-dir>/track_<id>.{glb,bvh,npz}`` (default out-dir: ``animation/``
beside the ``tracks/`` folder); ``--format scene`` writes one ``<out-dir>/scene.glb`` with
every given track of a video, in sync. See ``docs/animation.md`` for the conventions.
"""

import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

from smplestx.apis.animation import (
    ANIMATION_FORMATS,
    TRACK_FORMATS,
    AnimationWriter,
    TrackFileError,
    load_shape_space,
    pose_corrective_residual,
)
from smplestx.apis.animation.clip import clip_from_track
from smplestx.apis.animation.export import SCENE_FORMAT, default_animation_dir
from smplestx.utils.body_model_files import (
    BodyModelFilesError,
    require_body_model_files,
    resolve_body_model_dir,
)
from smplestx.utils.cli import add_video_camera_args
from smplestx.utils.standin_body_model import ensure_standin_body_model


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Export demo track files as skinned glTF (GLB), BVH and AMASS-layout '
        'animation, and one scene GLB per video.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('tracks', nargs='+', metavar='TRACK_NPZ',
                        help='tracks/track_<id>.npz files written by tools/demo.py')
    parser.add_argument('--format', nargs='+', choices=ANIMATION_FORMATS,
                        default=list(TRACK_FORMATS), help='formats to write: one file per '
                        'track (glb bvh amass), and/or "scene": one scene.glb with all given '
                        'tracks of a video, at the video\'s frame times')
    parser.add_argument('--out-dir', help='output folder (default: animation/ beside the '
                        'tracks/ folder of each track); with --format scene, give the tracks '
                        'of one video only')
    add_video_camera_args(parser)
    parser.add_argument('--image-size', type=int, nargs=2, metavar=('W', 'H'),
                        help='video size, when neither the track nor its index.json has it')
    parser.add_argument('--body-model-dir', help='SMPL-X folder (default: '
                        '$SMPLESTX_BODY_MODELS; a stand-in is generated when absent)')
    parser.add_argument('--standin-dir', help='where to generate the stand-in body model')
    parser.add_argument('--report-residual', action='store_true',
                        help='also print how far the pose-corrective blend shapes (which '
                        'glTF/BVH cannot carry) move the vertices, mm')
    return parser.parse_args(argv)


def _shape_space(body_model_dir: Optional[str], standin_dir: Optional[str]):
    """The body model, or the stand-in (with a notice) when no SMPL-X files are found."""
    try:
        root = resolve_body_model_dir(body_model_dir)
        require_body_model_files(root, ['smplx/SMPLX_NEUTRAL.npz'])
    except BodyModelFilesError:
        if body_model_dir is not None:
            raise
        root = str(ensure_standin_body_model(standin_dir))
        print(f'notice: no SMPL-X files (set SMPLESTX_BODY_MODELS): using a generated stand-in '
              f'body model in {root}; the animation files are placeholders', file=sys.stderr)
    return load_shape_space(root)


def _by_video(tracks: List[str], out_dir: Optional[str],
              scene: bool) -> Dict[str, List[str]]:
    """Output folder -> its tracks (in the given order); one video per folder for a scene.

    Raises:
        ValueError: If a scene is asked into ``out_dir`` for tracks of several videos.
    """
    videos = list(dict.fromkeys(default_animation_dir(track) for track in tracks))
    if scene and out_dir and len(videos) > 1:
        raise ValueError(f'--format scene writes one scene.glb per video, but the tracks '
                         f'come from {len(videos)} videos ({", ".join(videos)}): drop '
                         f'--out-dir or export one video at a time')
    groups: Dict[str, List[str]] = {}
    for track in tracks:
        groups.setdefault(out_dir or default_animation_dir(track), []).append(track)
    return groups


def main(argv: Optional[List[str]] = None) -> int:
    """Export every track; returns the exit status."""
    args = parse_args(argv)
    try:
        groups = _by_video(args.tracks, args.out_dir, SCENE_FORMAT in args.format)
        shape_space = _shape_space(args.body_model_dir, args.standin_dir)
        for folder, tracks in groups.items():
            video = osp.basename(osp.dirname(default_animation_dir(tracks[0])))
            writer = AnimationWriter(args.format, folder, video)
            for track in tracks:
                clip = clip_from_track(track, shape_space, fov=args.fov, focal=args.focal,
                                       image_size=args.image_size)
                for path in writer.add(clip).values():
                    print(f'{track} -> {path}')
                if args.report_residual:
                    res = pose_corrective_residual(clip, shape_space.layer)
                    print(f'{track}: pose-corrective residual over {res["frames"]} frames: '
                          f'mean {res["mean_mm"]:.2f} mm, max {res["max_mm"]:.2f} mm')
            scene = writer.finish()
            if scene:
                print(f'{len(tracks)} track(s) -> {scene}')
    except (TrackFileError, BodyModelFilesError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
