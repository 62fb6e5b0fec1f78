r"""SMPLest-X demo: whole-body SMPL-X for every person in images, image folders and videos.

Writes per frame and person an ``.npz`` of SMPL-X parameters (``smplx`` naming) with the
camera, box and score, a JSON index, overlay images (and an ``.mp4`` for videos) and,
optionally, ``.obj`` meshes. See ``demo/README.md``. Runs as MMEngine's Runner loop: one
process here, several with ``tools/dist_demo.sh`` or ``tools/slurm_demo.sh``; a rerun
skips inputs whose outputs are complete (see docs/inference_at_scale.md).

Exit status: 0 when everything was read and written; 1 when some images or video frames
could not be read (they are skipped, named in a warning and listed under ``failures`` in
the input's ``index.json``; an input with no readable frame is not written); 2 for a bad
command line, input, model file or output folder (one ``error:`` line, before any model
is loaded where possible) and for write errors such as a full disk.

Examples::

    python tools/demo.py demo/astronaut.jpg --whole-image
    python tools/demo.py demo/astronaut_pan.mp4 --det-checkpoint rtmdet_tiny_coco.pth \\
        --checkpoint smplest_x_h.pth.tar --device cuda --batch-size 16
    python tools/demo.py demo/astronaut_pan.mp4 --whole-image --smooth  # tracked, smoothed
    python tools/demo.py demo/astronaut_pan.mp4 --whole-image --smooth \\
        --export-animation glb bvh amass scene  # + animation/track_<id>.glb/.bvh/.npz
                                                # and animation/scene.glb (all tracks)
"""

import argparse
import sys
from typing import List, Optional, Tuple

from mmengine.config import DictAction

from smplestx.apis.animation.export import ANIMATION_FORMATS
from smplestx.apis.demo import resolve_demo_setup
from smplestx.apis.demo_runner import DemoOptions, is_main_process, run_demo
from smplestx.apis.detection import DetectorUnavailableError
from smplestx.datasets.media_dataset import DEFAULT_PART_SIZE
from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS
from smplestx.models.utils.precision import PRECISIONS
from smplestx.utils.cli import (
    add_video_camera_args,
    shutdown_distributed,
    video_camera_args,
)

#: Errors reported as one line (exit status 2) instead of a traceback. ``OSError`` covers
#: unreadable or missing files, output folders that cannot be written and a full disk.
USER_ERRORS = (ValueError, DetectorUnavailableError, KeyError, OSError, *CHECKPOINT_ERRORS)


def shard_spec(text: str) -> Tuple[int, int]:
    """``I/N`` -> ``(I, N)`` (0-based shard ``I`` of ``N``)."""
    try:
        index, count = (int(v) for v in text.split('/'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected I/N (e.g. 0/4), got {text!r}') from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f'need 0 <= I < N, got {text!r}')
    return index, count


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
    parser.add_argument('--det-checkpoint', help='mmdet weights for person detection '
                        '(default: RTMDet-tiny COCO, downloaded once and verified)')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help='minimum person detection score')
    parser.add_argument('--min-box-size', type=float, nargs=2, default=(16, 32),
                        metavar=('W', 'H'), help='minimum person box size in pixels')
    parser.add_argument('--max-people', type=int, help='keep at most N people per frame')
    parser.add_argument('--out-dir', default='outputs/demo', help='output root folder')
    parser.add_argument('--device', help='torch device of a one-process run (default: cuda if '
                        'available); distributed runs use GPU LOCAL_RANK or the CPU')
    parser.add_argument('--batch-size', type=int, default=8, help='people per model batch')
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help='inference precision (default: the config\'s, else fp32); auto '
                        'picks the fastest this CPU/GPU supports (docs/benchmarks.md)')
    parser.add_argument('--no-render', action='store_true', help='skip overlay images/video')
    parser.add_argument('--save-mesh', action='store_true', help='also write .obj meshes')
    parser.add_argument('--save-humandata', action='store_true',
                        help='also write the results as a HumanData file of pseudo-labels '
                        '(OUT_DIR/humandata.npz; video frames are saved as images for it)')
    parser.add_argument('--seed', type=int, default=0, help='seed of placeholder weights')
    parser.add_argument('--standin-dir', help='where to generate the stand-in body model')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bars')
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
    parser.add_argument('--export-animation', nargs='+', choices=ANIMATION_FORMATS,
                        metavar='FORMAT', default=[],
                        help='write <out>/<name>/animation/ files: per track of a video '
                        '(track_<id>.glb/.bvh/.npz; implies --track), per person of an image '
                        '(single frame); "scene": one scene.glb with every track of the video '
                        '(every person of the image) in sync; formats: glb bvh amass scene '
                        '(docs/animation.md)')
    add_video_camera_args(parser, 'animation: ')
    parser.add_argument('--overwrite', action='store_true',
                        help='redo inputs whose outputs are complete (default: skip them)')
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first unreadable image or video frame (exit 2) '
                        'instead of skipping it')
    parser.add_argument('--shard', type=shard_spec, default=(0, 1), metavar='I/N',
                        help='run only inputs i with i %% N == I (0-based; e.g. one Slurm '
                        'array task each)')
    parser.add_argument('--num-workers', type=int, default=0,
                        help='dataloader workers decoding frames (0: the main process)')
    parser.add_argument('--images-per-part', type=int, default=DEFAULT_PART_SIZE,
                        help='images of a folder handled as one unit (folders spread over '
                        'processes in such parts)')
    parser.add_argument('--work-dir', help='folder for the Runner\'s logs (default: a '
                        'temporary folder, removed at the end)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher (pytorch = torchrun; see tools/dist_demo.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def demo_options(args: argparse.Namespace) -> DemoOptions:
    """The :class:`DemoOptions` of a parsed command line."""
    return DemoOptions(
        out_dir=args.out_dir,
        boxes='whole_image' if args.whole_image else args.bboxes,
        det_config=args.det_config, det_checkpoint=args.det_checkpoint,
        det_score_thr=args.det_score_thr, min_box_size=tuple(args.min_box_size),
        max_people=args.max_people, device=args.device, batch_size=args.batch_size,
        render=not args.no_render, save_mesh=args.save_mesh,
        save_humandata=args.save_humandata, track=args.track,
        smooth=dict(min_cutoff=args.smooth_min_cutoff, beta=args.smooth_beta)
        if args.smooth else None,
        overwrite=args.overwrite, strict=args.strict, shard=args.shard,
        launcher=args.launcher, num_workers=args.num_workers,
        part_size=args.images_per_part, show_progress=not args.no_progress, seed=args.seed,
        cfg_options=args.cfg_options, work_dir=args.work_dir, precision=args.precision,
        export_animation=tuple(args.export_animation),
        animation_camera=video_camera_args(args))


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.strerror:
        return f'{err.strerror}: {err.filename}' if err.filename else err.strerror
    return str(err)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the demo; returns the exit status (see the module docstring)."""
    args = parse_args(argv)
    try:
        setup = resolve_demo_setup(args.config, args.checkpoint, args.body_model_dir,
                                   args.standin_dir)
        options = demo_options(args)
        if setup.notice and is_main_process(options):
            print(setup.notice, file=sys.stderr)
        summary = run_demo(args.inputs, options, setup)
    except USER_ERRORS as err:
        print(f'error: {_message(err)}', file=sys.stderr)
        return 2
    if args.launcher != 'none':
        shutdown_distributed()
    return summary.exit_code


if __name__ == '__main__':
    sys.exit(main())
