r"""SMPLest-X web demo: upload an image or a video, see the meshes, download the results.

A Gradio app (``pip install -e ".[web]"``, Python >= 3.10) on the same inference path
as ``tools/demo.py``: the model is built once at start, each upload runs through the
demo, and the page shows the overlay (image, or H.264 video), a 3D view of the result
GLB and downloads of the SMPL-X parameters, the GLB and the BVH. See ``docs/demo.md``.

Examples::

    python tools/webui.py                       # http://127.0.0.1:7860, placeholder model
    python tools/webui.py --checkpoint smplest_x_h.pth.tar --device cuda \\
        --det-checkpoint rtmdet_tiny_8xb32-300e_coco.pth
"""

import argparse
import importlib.util
import shutil
import signal
import sys
import tempfile
from typing import List, Optional

from mmengine.config import DictAction

from smplestx.utils.offline import set_offline_environment


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from smplestx.models.utils.precision import PRECISIONS
    from smplestx.utils.cli import add_video_camera_args

    parser = argparse.ArgumentParser(
        description='SMPLest-X web demo (Gradio).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on; 0.0.0.0 exposes the demo to the network')
    parser.add_argument('--port', type=int, default=7860, help='port to listen on')
    parser.add_argument('--config', help='model config (default: as tools/demo.py)')
    parser.add_argument('--checkpoint', help='model weights (default: as tools/demo.py)')
    parser.add_argument('--body-model-dir', help='SMPL-X folder (default: as tools/demo.py)')
    parser.add_argument('--device', help='torch device (default: cuda if available)')
    parser.add_argument('--precision', choices=PRECISIONS,
                        help='inference precision (default: the config\'s, else fp32)')
    parser.add_argument('--det-config', help='mmdet config (default: RTMDet-tiny COCO)')
    parser.add_argument('--det-checkpoint', help='person-detector weights; without them '
                        'only "whole image" is offered')
    parser.add_argument('--min-box-size', type=float, nargs=2, default=(16, 32),
                        metavar=('W', 'H'), help='minimum person box size in pixels')
    parser.add_argument('--batch-size', type=int, default=8, help='people per model batch')
    parser.add_argument('--seed', type=int, default=0, help='seed of placeholder weights')
    parser.add_argument('--standin-dir', help='where to generate the stand-in body model')
    add_video_camera_args(parser, 'animation: ')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--max-upload-mb', type=int, default=200, help='largest upload')
    parser.add_argument('--max-frames', type=int, default=600, help='longest video, frames')
    parser.add_argument('--queue-size', type=int, default=16,
                        help='most jobs waiting at once (one runs at a time)')
    parser.add_argument('--work-dir', help='uploads and results (default: a new temporary '
                        'folder, deleted at exit); each session\'s files are deleted when '
                        'its tab closes')
    return parser.parse_args(argv)


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    """Start the app and serve until interrupted; returns the exit status."""
    set_offline_environment()  # before Gradio and timm read it at import
    args = parse_args(argv)
    if importlib.util.find_spec('gradio') is None:
        print('error: the web demo needs Gradio (Python >= 3.10): pip install -e ".[web]"',
              file=sys.stderr)
        return 2
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='smplestx-webui-')
    try:
        from smplestx.apis.webui import app as webapp
        from smplestx.apis.webui.jobs import SETUP_ERRORS, WebDemo
        from smplestx.utils.cli import video_camera_args

        try:
            demo = WebDemo(args.config, args.checkpoint, args.body_model_dir, args.device,
                           args.det_config, args.det_checkpoint, tuple(args.min_box_size),
                           args.batch_size, args.seed, args.cfg_options, args.standin_dir,
                           args.max_frames, args.precision,
                           video_camera_args(args) or None)
        except SETUP_ERRORS as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f'error: {message}', file=sys.stderr)
            return 2
        if demo.notice:
            print(demo.notice, file=sys.stderr)
        signal.signal(signal.SIGTERM, _stop)
        try:
            webapp.launch(webapp.build_app(demo, f'{work_dir}/gradio'), args.host, args.port,
                          args.max_upload_mb, args.queue_size)
        except KeyboardInterrupt:
            pass
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
