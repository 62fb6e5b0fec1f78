r"""SMPLest-X demo: whole-body SMPL-X for every person in images, image folders and videos.

Writes per frame and person an ``.npz`` of SMPL-X parameters (``smplx`` naming) with the
camera, box and score, a JSON index, overlay images (and an ``.mp4`` for videos) and,
optionally, ``.obj`` meshes. See ``demo/README.md``.

Examples::

    python tools/demo.py demo/astronaut.jpg --whole-image
    python tools/demo.py demo/astronaut_pan.mp4 --det-checkpoint rtmdet_tiny_coco.pth \\
        --checkpoint smplest_x_h.pth.tar --device cuda --batch-size 16
    python tools/demo.py demo/astronaut_pan.mp4 --whole-image --smooth  # tracked, smoothed
    python tools/demo.py demo/astronaut_pan.mp4 --whole-image --smooth \\
        --export-animation glb bvh amass  # + animation/track_<id>.glb/.bvh/.npz
"""

import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction

from smplestx.apis.demo import build_inferencer, resolve_demo_setup, run_demo
from smplestx.apis.detection import DetectorUnavailableError, PersonDetector
from smplestx.apis.inferencers import make_box_source
from smplestx.datasets.utils.image_io import ImageReadError
from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS
from smplestx.models.utils.precision import PRECISIONS

#: Errors reported as one line (exit status 2) instead of a traceback.
USER_ERRORS = (ImageReadError, ValueError, DetectorUnavailableError, KeyError, *CHECKPOINT_ERRORS)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='SMPLest-X demo on images, image folders and videos.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('inputs', nargs='+', help='image files, image folders or video files')
    parser.add_argument('--config', help='model config (default: SMPLest-X-H, or the tiny '
                        'config when no checkpoint is found)')
    parser.add_argument('--checkpoint', help='model weights (official .pth.tar or converted); '
                        'default: checkpoints/smplestx_vit-h_3rdparty.pth if present')
    parser.add_argument('--body-model-dir', help='SMPL-X folder (default: the config or '
                        '$SMPLESTX_BODY_MODELS; a stand-in is generated when absent)')
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument('--bboxes', metavar='FILE', help='JSON person boxes [x1, y1, x2, y2'
                       '(, score)]: one list for all frames, or {frame name: list}')
    boxes.add_argument('--whole-image', action='store_true',
                       help='treat each whole frame as one person box')
    parser.add_argument('--det-config', help='mmdet config (default: RTMDet-tiny COCO)')
    parser.add_argument('--det-checkpoint', help='mmdet weights for person detection')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help='minimum person detection score')
    parser.add_argument('--min-box-size', type=float, nargs=2, default=(16, 32),
                        metavar=('W', 'H'), help='minimum person box size in pixels')
    parser.add_argument('--max-people', type=int, help='keep at most N people per frame')
    parser.add_argument('--out-dir', default='outputs/demo', help='output root folder')
    parser.add_argument('--device', help='torch device (default: cuda if available)')
    parser.add_argument('--batch-size', type=int, default=8, help='people per model batch')
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help='inference precision (default: the config\'s, else fp32); auto '
                        'picks the fastest this CPU/GPU supports (docs/benchmarks.md)')
    parser.add_argument('--no-render', action='store_true', help='skip overlay images/video')
    parser.add_argument('--save-mesh', action='store_true', help='also write .obj meshes')
    parser.add_argument('--seed', type=int, default=0, help='seed of placeholder weights')
    parser.add_argument('--standin-dir', help='where to generate the stand-in body model')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument('--track', action='store_true',
                        help='video input only: give each person a track_id that is stable '
                        'across frames (greedy IoU), saved in its .npz and index.json')
    parser.add_argument('--smooth', action='store_true',
                        help='video input only (images/folders are never smoothed): One Euro '
                        'smoothing of each track\'s SMPL-X rotations, expression and betas '
                        '(running mean); transl is kept; meshes/keypoints are recomputed. '
                        'Implies --track')
    parser.add_argument('--smooth-min-cutoff', type=float, default=1.0,
                        help='One Euro min_cutoff in Hz (lower: smoother, more lag)')
    parser.add_argument('--smooth-beta', type=float, default=0.5,
                        help='One Euro beta (higher: less lag on fast motion)')
    parser.add_argument('--export-animation', nargs='+', choices=('glb', 'bvh', 'amass'),
                        metavar='FORMAT', default=[],
                        help='write <out>/<name>/animation/ files: per track of a video '
                        '(track_<id>.glb/.bvh/.npz; implies --track), per person of an image '
                        '(single frame); formats: glb bvh amass (docs/animation.md)')
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument('--fov', type=float, help='animation: horizontal field of view of the '
                        'video camera in degrees (default: focal = image diagonal)')
    camera.add_argument('--focal', type=float,
                        help='animation: focal length of the video camera in pixels')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(argv)
    try:
        setup = resolve_demo_setup(args.config, args.checkpoint, args.body_model_dir,
                                   args.standin_dir)
        if setup.notice:
            print(setup.notice, file=sys.stderr)
        if args.whole_image:
            boxes, mode = make_box_source('whole_image'), 'whole_image'
        elif args.bboxes:
            boxes, mode = make_box_source(args.bboxes, args.max_people), f'file:{args.bboxes}'
        else:
            boxes = PersonDetector(args.det_config, args.det_checkpoint, args.device or 'cpu',
                                   args.det_score_thr, tuple(args.min_box_size),
                                   args.max_people)
            mode = 'detector'
        inferencer = build_inferencer(setup, args.device, boxes, seed=args.seed,
                                      cfg_options=args.cfg_options,
                                      min_box_size=tuple(args.min_box_size),
                                      max_people=args.max_people,
                                      precision=args.precision)
        run_demo(args.inputs, args.out_dir, inferencer, setup, batch_size=args.batch_size,
                 render=not args.no_render, save_mesh=args.save_mesh, boxes_mode=mode,
                 show_progress=not args.no_progress, track=args.track,
                 smooth=dict(min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta)
                 if args.smooth else None, export_animation=args.export_animation,
                 animation_camera={k: v for k, v in (('fov', args.fov), ('focal', args.focal))
                                   if v is not None})
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'error: {message}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
