"""The demo: choose model files (with a stand-in fallback), run the inferencer, write results.

``tools/demo.py`` only parses arguments and calls :func:`resolve_demo_setup` and
:func:`run_demo`.

When the released checkpoint or the SMPL-X files are absent, the demo says so in one
line and still runs end to end: without weights it builds the tiny config with seeded
random weights (readouts set to a neutral, upright pose so that placeholder meshes sit in
their boxes), and without SMPL-X it generates a stand-in body model into a cache folder.
Such outputs exercise every file the demo writes but are not estimates.
"""

import contextlib
import dataclasses
import os
import os.path as osp
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch

from smplestx.apis.exporters import ResultWriter
from smplestx.apis.frames import VideoReader, count_frames, input_kind
from smplestx.apis.inference import body_model_dirs, load_config
from smplestx.apis.inferencers import SMPLestXInferencer
from smplestx.utils.body_model_files import (
    BodyModelFilesError,
    require_body_model_files,
    resolve_body_model_dir,
)
from smplestx.utils.io import atomic_path
from smplestx.utils.standin_body_model import ensure_standin_body_model

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: Config of the released SMPLest-X-H model.
DEFAULT_CONFIG = 'configs/smplestx/smplestx_vit-h_16xb16-20e_h40-256x192.py'
#: Tiny config used (with random weights) when no checkpoint is available.
TINY_CONFIG = 'configs/smplestx/smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py'
#: Where the demo looks for the released weights (converted or official), in order.
DEFAULT_CHECKPOINTS = ('checkpoints/smplestx_vit-h_3rdparty.pth',
                       'checkpoints/smplest_x_h.pth.tar',
                       'pretrained_models/smplest_x_h/smplest_x_h.pth.tar')
#: The SMPL-X file the model needs.
REQUIRED_BODY_FILES = ('smplx/SMPLX_NEUTRAL.npz', )


@dataclasses.dataclass
class DemoSetup:
    """What the demo runs with.

    Attributes:
        config: Config file.
        checkpoint: Weights, or ``None`` for seeded random weights.
        body_model_dir: SMPL-X folder, or ``None`` to use the config/environment.
        standin: ``body_model_dir`` is a generated stand-in.
        notice: One line describing any fallback, or ``None``.
    """

    config: str
    checkpoint: Optional[str]
    body_model_dir: Optional[str]
    standin: bool = False
    notice: Optional[str] = None

    @property
    def placeholder(self) -> bool:
        """Whether outputs are placeholders (random weights)."""
        return self.checkpoint is None


def _find(path: str) -> Optional[str]:
    """``path`` as given, or relative to the package's repository root."""
    for candidate in (path, osp.join(PACKAGE_ROOT, path)):
        if osp.isfile(candidate):
            return candidate
    return None


def _body_model_available(config: str, body_model_dir: Optional[str]) -> Optional[str]:
    """The SMPL-X folder the model would use, or ``None`` if it is missing or incomplete."""
    dirs = [body_model_dir] if body_model_dir else (body_model_dirs(load_config(config)) or
                                                    [None])
    try:
        for folder in dirs:
            root = resolve_body_model_dir(folder)
            require_body_model_files(root, REQUIRED_BODY_FILES)
    except BodyModelFilesError:
        return None
    return root


def resolve_demo_setup(config: Optional[str] = None, checkpoint: Optional[str] = None,
                       body_model_dir: Optional[str] = None,
                       standin_dir: Optional[str] = None) -> DemoSetup:
    """Pick the config, weights and body model, falling back to placeholders when absent.

    Explicitly given files must exist. Without ``checkpoint``, the default locations
    (:data:`DEFAULT_CHECKPOINTS`) are tried; if none exists, ``config`` (or the tiny config)
    runs with seeded random weights. Without usable SMPL-X files (``body_model_dir``, the
    config's ``body_model_dir`` or ``$SMPLESTX_BODY_MODELS``), a stand-in body model is
    generated into ``standin_dir`` (a cache folder by default).

    Args:
        config: Config file; the SMPLest-X-H config by default.
        checkpoint: Weights file.
        body_model_dir: SMPL-X folder.
        standin_dir: Where to generate the stand-in body model.

    Returns:
        The setup, with ``notice`` set when anything was substituted.

    Raises:
        FileNotFoundError: If an explicitly given file or folder does not exist.
    """
    problems, fallbacks = [], []
    if config is not None and _find(config) is None:
        raise FileNotFoundError(f'config file {config} does not exist')
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
        config = _find(config or DEFAULT_CONFIG)
    else:
        found = next((c for c in map(_find, DEFAULT_CHECKPOINTS) if c), None)
        if found is not None:
            checkpoint, config = found, _find(config or DEFAULT_CONFIG)
        else:
            config = _find(config or TINY_CONFIG)
            problems.append(f'no released checkpoint (looked for {DEFAULT_CHECKPOINTS[0]})')
            fallbacks.append(f'{osp.basename(config)} with seeded random weights')
    if config is None:
        raise FileNotFoundError(f'config file {DEFAULT_CONFIG} not found; pass --config')
    if body_model_dir is not None and not osp.isdir(body_model_dir):
        raise FileNotFoundError(f'body model folder {body_model_dir} does not exist')
    standin = False
    root = _body_model_available(config, body_model_dir)
    if root is None and body_model_dir is not None:
        require_body_model_files(body_model_dir, REQUIRED_BODY_FILES)
    if root is None:
        root = os.fspath(ensure_standin_body_model(standin_dir))
        standin = True
        problems.append('no SMPL-X files (set SMPLESTX_BODY_MODELS)')
        fallbacks.append(f'a generated stand-in body model in {root}')
    notice = None
    if problems:
        notice = (f'notice: {" and ".join(problems)}: running {" on ".join(fallbacks)}; the '
                  f'outputs are placeholders, not estimates.')
    return DemoSetup(config, checkpoint, root, standin, notice)


def _rot6d_z(angle: float) -> tuple:
    """6D (row-major, interleaved first two columns) of a rotation about z."""
    c, s = float(np.cos(angle)), float(np.sin(angle))
    return (c, -s, s, c, 0.0, 0.0)


#: Placeholder camera: centred on the body and far enough for it to fill ~80% of the crop.
_PLACEHOLDER_CAM = (0.0, 0.45, 1.1)


def neutral_readouts(model: torch.nn.Module, scale: float = 0.01) -> None:
    """Make a randomly initialised model output a small variation of an upright A-pose.

    The readout weights are scaled by ``scale``; the biases give an upright root (180
    degrees about x: SMPL-X is y-up, the camera y-down), arms lowered at the shoulders,
    rest poses elsewhere, mean shape and expression, and a camera that frames the body in
    its box. Only for placeholder runs.
    """
    head = model.head
    identity = _rot6d_z(0.0)
    body = [identity] * 21
    body[15], body[16] = _rot6d_z(-1.1), _rot6d_z(1.1)  # left/right shoulder
    biases = {'dec_body_root_pose': [(1.0, 0.0, 0.0, -1.0, 0.0, 0.0)], 'dec_body_pose': body,
              'dec_hand_pose': [identity] * 30, 'dec_face_jaw_pose': [identity],
              'dec_body_shape': [(0.0, ) * 10], 'dec_face_expression': [(0.0, ) * 10],
              'dec_body_cam': [_PLACEHOLDER_CAM]}
    with torch.no_grad():
        for name, rows in biases.items():
            layer = getattr(head, name, None)
            if layer is None:
                continue
            layer.weight.mul_(scale)
            layer.bias.copy_(torch.tensor(rows, dtype=layer.bias.dtype).reshape(-1))


def build_inferencer(setup: DemoSetup, device: Optional[str] = None, boxes=None,
                     seed: int = 0, cfg_options: Optional[dict] = None,
                     **kwargs) -> SMPLestXInferencer:
    """Build the inferencer of a :class:`DemoSetup` (placeholders get neutral readouts)."""
    cfg = load_config(setup.config, cfg_options)
    inferencer = SMPLestXInferencer(cfg, setup.checkpoint, device=device, boxes=boxes,
                                    body_model_dir=setup.body_model_dir, seed=seed, **kwargs)
    if setup.placeholder:
        neutral_readouts(inferencer.model)
    return inferencer


def _progress(enabled: bool):
    """A rich progress bar on stderr (disabled: a no-op)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled)


def run_demo(inputs: Sequence[str], out_dir: str, inferencer: SMPLestXInferencer,
             setup: Optional[DemoSetup] = None, batch_size: int = 1, render: bool = True,
             save_mesh: bool = False, boxes_mode: str = 'detector',
             show_progress: bool = True, log: Callable[[str], None] = print,
             track: bool = False, smooth: Optional[Dict[str, Any]] = None,
             export_animation: Sequence[str] = (),
             animation_camera: Optional[Dict[str, float]] = None) -> List[str]:
    """Run the demo on image files, folders and videos and write every result.

    Each input gets its own folder ``out_dir/<name>`` (see
    :mod:`smplestx.apis.exporters` for the layout); videos also get ``<name>.mp4`` of the
    overlays. Frame folders are kept.

    Args:
        inputs: Image files, image folders or video files.
        out_dir: Output root.
        inferencer: The inferencer (with its default box source set).
        setup: The model setup, recorded in the index.
        batch_size: People per model batch.
        render: Write overlay images (and the video).
        save_mesh: Write ``.obj`` meshes.
        boxes_mode: How boxes were obtained, recorded in the index.
        show_progress: Show a progress bar per input.
        log: Where summary lines go.
        track: Give the people of videos a ``track_id`` (saved in their ``.npz`` and in
            ``index.json``); images and folders are never tracked.
        smooth: Smooth the people of videos over time (implies ``track``): options of
            :class:`~smplestx.apis.smoothing.SMPLXSmoother` (``{}`` for the defaults;
            ``fps`` is the video's). Saved parameters, meshes and overlays are the
            smoothed ones; images and folders are never smoothed.
        export_animation: Animation formats (``'glb'``, ``'bvh'``, ``'amass'``) to write to
            ``<name>/animation/``: one file per track of a video (implies ``track``), one
            single-frame file per person of an image (see :mod:`smplestx.apis.animation`).
        animation_camera: ``fov`` (degrees) or ``focal`` (pixels) of the video camera the
            animation's root trajectory is expressed in (default: the image diagonal).

    Returns:
        The paths of the ``index.json`` files.
    """
    faces = inferencer.faces
    indexes = []
    for path in inputs:
        kind = input_kind(path)
        name = Path(path).stem if kind != 'folder' else Path(osp.abspath(path)).name
        dest = osp.join(out_dir, name)
        writer = ResultWriter(dest, faces=faces, save_mesh=save_mesh)
        fps = VideoReader(path).fps if kind == 'video' else None
        video_smooth = None if kind != 'video' or smooth is None else {'fps': fps, **smooth}
        video_track = kind == 'video' and (track or smooth is not None or
                                           bool(export_animation))
        video_rel = f'{name}.mp4' if kind == 'video' and render else None
        start = time.perf_counter()
        people = 0
        progress = _progress(show_progress)
        with contextlib.ExitStack() as stack:
            stack.enter_context(progress)
            task = progress.add_task(name, total=count_frames(path))
            video = _LazyVideo(stack, osp.join(dest, video_rel), fps) if video_rel else None
            for result in inferencer.stream(path, batch_size=batch_size, return_vis=render,
                                            track=video_track, smooth=video_smooth):
                vis = None
                if render:
                    vis = np.ascontiguousarray(result.visualization[..., ::-1])
                    if video is not None:
                        video.write(vis)
                writer.add_frame(result.frame.index, result.frame.name, result.people,
                                 result.frame.image_size, result.frame.source, vis)
                people += len(result.people)
                progress.advance(task)
            if video is not None:
                video.close()
        elapsed = time.perf_counter() - start
        frames = len(writer.frames)
        if kind == 'video' and frames == 0:
            raise ValueError(f'video {path} has no readable frames')
        meta = _index_meta(path, kind, fps, video_rel, setup, inferencer, boxes_mode, elapsed)
        if video_track:
            meta.update(tracking=True, smoothing=video_smooth)
        indexes.append(writer.write_index(meta))
        log(f'{path}: {frames} frame(s), {people} people in {elapsed:.1f} s '
            f'({frames / max(elapsed, 1e-9):.2f} fps) -> {dest}')
        if export_animation:
            files = export_demo_animation(writer, export_animation, setup, animation_camera)
            log(f'{path}: {len(files)} animation file(s) -> {osp.join(dest, "animation")}')
    return indexes


def export_demo_animation(writer: ResultWriter, formats: Sequence[str],
                          setup: Optional[DemoSetup] = None,
                          camera: Optional[Dict[str, float]] = None) -> List[str]:
    """Write ``animation/`` files for the tracks (video) or people (images) of one input.

    Args:
        writer: The input's writer, after :meth:`ResultWriter.write_index`.
        formats: Animation formats.
        setup: Gives the body-model folder (default ``$SMPLESTX_BODY_MODELS``).
        camera: ``fov`` or ``focal`` of the video camera.

    Returns:
        The written paths.
    """
    from smplestx.apis.animation import export_track_animation, load_shape_space

    shape_space = load_shape_space(setup.body_model_dir if setup else None)
    out_dir = osp.join(writer.out_dir, 'animation')
    sources = [(writer.track_file(t), None) for t in sorted(writer.tracks)]
    if not writer.tracks:
        sources = [(person['params'], frame['image_size'][::-1]) for frame in writer.frames
                   for person in frame['people'] if person['params']]
    written = []
    for rel, image_size in sources:
        files = export_track_animation(osp.join(writer.out_dir, rel), formats, out_dir,
                                       shape_space=shape_space, image_size=image_size,
                                       **(camera or {}))
        written.extend(files.values())
    return written


class _LazyVideo:
    """An ``mp4v`` writer opened (atomically) at the first frame."""

    def __init__(self, stack: contextlib.ExitStack, path: str, fps: Optional[float]) -> None:
        self.stack, self.path, self.fps = stack, path, fps or 30.0
        self.writer = None

    def write(self, frame_bgr: np.ndarray) -> None:
        if self.writer is None:
            tmp = self.stack.enter_context(atomic_path(self.path))
            height, width = frame_bgr.shape[:2]
            self.writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
                                          (width, height))
            if not self.writer.isOpened():
                raise RuntimeError(f'OpenCV cannot write mp4v video {self.path}')
        self.writer.write(frame_bgr)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def _index_meta(path: str, kind: str, fps: Optional[float], video: Optional[str],
                setup: Optional[DemoSetup], inferencer: SMPLestXInferencer, boxes_mode: str,
                elapsed: float) -> Dict:
    meta = {'input': osp.abspath(path), 'input_type': kind, 'fps': fps, 'video': video,
            'boxes': boxes_mode, 'device': str(next(inferencer.model.parameters()).device),
            'seconds': round(elapsed, 3),
            'created': datetime.now(timezone.utc).isoformat(timespec='seconds')}
    if setup is not None:
        meta.update(config=osp.abspath(setup.config), checkpoint=setup.checkpoint and
                    osp.abspath(setup.checkpoint), body_model_dir=setup.body_model_dir,
                    standin_body_model=setup.standin, placeholder_weights=setup.placeholder,
                    notice=setup.notice)
    return meta
