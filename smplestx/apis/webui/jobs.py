"""The web demo's one door into the demo: run it on one upload and collect what to show.

:class:`WebDemo` builds the model (and the person detector) once, when the app starts,
and :meth:`WebDemo.run_job` runs the demo's own entry point on one uploaded image or
video, with the visitor's options, into a job folder. Everything the page shows is
then read back from the files the demo wrote (``index.json``, the overlays, the
parameters), so the web demo has no per-frame logic of its own. The animated GLB and
the BVH come from the animation exporter (:mod:`smplestx.apis.animation`) when this
installation has it; otherwise :attr:`JobResult.animation_note` says that they are not
available.
"""

import dataclasses
import json
import os
import os.path as osp
import re
import shutil
import threading
import zipfile
from typing import Callable, List, Optional, Sequence

import torch

from smplestx.apis.demo import build_model, resolve_demo_setup
from smplestx.apis.demo_runner import DemoOptions, run_demo
from smplestx.apis.detection import DetectorUnavailableError, PersonDetector, make_box_source
from smplestx.apis.webui.video import to_browser_mp4
from smplestx.datasets.utils.media_io import IMAGE_EXTS, VIDEO_EXTS, count_frames, input_kind
from smplestx.models.utils.checkpoint_conversion import CHECKPOINT_ERRORS
from smplestx.utils.io import atomic_path

#: Person sources a visitor can choose.
PERSON_SOURCES = ('detector', 'whole_image')
#: File types the upload field accepts (the demo's image and video types).
UPLOAD_EXTS = IMAGE_EXTS + VIDEO_EXTS
#: Errors of a bad upload or option (ValueError, ImageReadError), or of the server (a full
#: disk, a video OpenCV cannot write, DetectorUnavailableError, VideoEncodeError), shown in
#: the page as one line.
JOB_ERRORS = (ValueError, OSError, RuntimeError)
#: Errors that stop the app from starting, reported by ``tools/webui.py`` as one line.
SETUP_ERRORS = (FileNotFoundError, ValueError, KeyError, DetectorUnavailableError,
                *CHECKPOINT_ERRORS)


class JobError(Exception):
    """A job that cannot run or failed; the message is meant for the visitor."""


@dataclasses.dataclass
class JobOptions:
    """What a visitor chooses for one run.

    Attributes:
        person_source: ``'detector'`` (the person detector given at start) or
            ``'whole_image'`` (each frame is one person).
        det_score_thr: Minimum detection score.
        max_people: Keep at most this many people per frame (``None``: all).
        track: Videos: link people across frames (needed for the animation files).
        smooth: Videos: One Euro smoothing of each track (implies ``track``).
        smooth_min_cutoff: One Euro ``min_cutoff`` in Hz.
        smooth_beta: One Euro ``beta``.
        mesh_alpha: Opacity of the meshes drawn over the input.
        show_boxes: Draw the person boxes.
        show_keypoints: Draw the projected 2D keypoints.
    """

    person_source: str = 'whole_image'
    det_score_thr: float = 0.5
    max_people: Optional[int] = None
    track: bool = True
    smooth: bool = False
    smooth_min_cutoff: float = 1.0
    smooth_beta: float = 0.5
    mesh_alpha: float = 0.8
    show_boxes: bool = True
    show_keypoints: bool = False

    def check(self) -> None:
        """Raise :class:`JobError` for an option out of range."""
        if self.person_source not in PERSON_SOURCES:
            raise JobError(f'unknown person source {self.person_source!r}; choose one of '
                           f'{list(PERSON_SOURCES)}')
        if not 0.0 <= self.det_score_thr <= 1.0:
            raise JobError(f'the detection score threshold must be in [0, 1], got '
                           f'{self.det_score_thr}')
        if self.max_people is not None and self.max_people < 1:
            raise JobError(f'max people must be at least 1, got {self.max_people}')
        if not 0.0 <= self.mesh_alpha <= 1.0:
            raise JobError(f'the mesh opacity must be in [0, 1], got {self.mesh_alpha}')
        if self.smooth and (self.smooth_min_cutoff <= 0 or self.smooth_beta < 0):
            raise JobError('smoothing needs min_cutoff > 0 and beta >= 0')


@dataclasses.dataclass
class JobResult:
    """What one run produced, as files in its job folder.

    Attributes:
        kind: ``'image'`` or ``'video'``.
        overlay: The overlay image (image input).
        video: The overlay video as browser-playable H.264 ``.mp4`` (video input).
        glb: GLB files, one per person (image) or track (video), when exported.
        bvh: BVH files, likewise.
        scene: The GLB with every person (image) or track (video) in sync, when written.
        view3d: The GLB shown in the 3D view: the scene when there are several people or
            tracks, else the person's (or track's) own GLB.
        params_zip: Zip of the SMPL-X parameters (``smplx/``, ``tracks/``, ``index.json``).
        notice: The placeholder notice when the released weights or SMPL-X files are
            missing, else ``None``.
        message: One line for the visitor: what was found, or why nothing was.
        animation_note: Why there are no GLB/BVH files, or ``None``.
        num_frames: Frames processed.
        num_people: People found, summed over frames.
        seconds: Time of the demo run.
        out_dir: The demo's output folder of this input.
    """

    kind: str
    overlay: Optional[str] = None
    video: Optional[str] = None
    glb: List[str] = dataclasses.field(default_factory=list)
    bvh: List[str] = dataclasses.field(default_factory=list)
    scene: Optional[str] = None
    view3d: Optional[str] = None
    params_zip: Optional[str] = None
    notice: Optional[str] = None
    message: str = ''
    animation_note: Optional[str] = None
    num_frames: int = 0
    num_people: int = 0
    seconds: float = 0.0
    out_dir: str = ''


#: Animation formats the page offers (the demo writes them to ``<name>/animation/``): per
#: person GLB and BVH downloads, and the scene of everyone for the 3D view.
ANIMATION_FORMATS = ('glb', 'bvh', 'scene')


def animation_problem() -> Optional[str]:
    """Why the demo cannot write GLB/BVH files here, or ``None`` when it can."""
    try:
        import smplestx.apis.animation  # noqa: F401
    except ImportError as err:
        return ('the 3D view and the GLB/BVH downloads need the animation exporter '
                f'(smplestx.apis.animation), which this installation lacks ({err})')
    return None


def safe_name(name: str) -> str:
    """A file name made of letters, digits, ``.``, ``_`` and ``-`` (``upload`` if empty)."""
    stem, ext = osp.splitext(osp.basename(name))
    stem = re.sub(r'[^A-Za-z0-9_.-]+', '_', stem).strip('._') or 'upload'
    return stem[:64] + re.sub(r'[^A-Za-z0-9.]', '', ext).lower()


class WebDemo:
    """The demo model, built once, and the jobs of the web app that run on it.

    Args:
        config: Model config (default: as ``tools/demo.py``).
        checkpoint: Model weights (default: as ``tools/demo.py``; seeded random weights
            with a placeholder notice when none is found).
        body_model_dir: SMPL-X folder (default: as ``tools/demo.py``; a generated
            stand-in with a placeholder notice when none is found).
        device: Torch device.
        det_config: mmdet config of the person detector.
        det_checkpoint: Person-detector weights; without them only the whole-image
            person source is offered.
        min_box_size: Minimum person box (width, height) in pixels.
        batch_size: People per model batch.
        seed: Seed of placeholder weights.
        cfg_options: Config overrides.
        standin_dir: Where to generate the stand-in body model.
        max_frames: Longest video accepted, in frames.
        log: Where summary lines of the demo go.
    """

    def __init__(self, config: Optional[str] = None, checkpoint: Optional[str] = None,
                 body_model_dir: Optional[str] = None, device: Optional[str] = None,
                 det_config: Optional[str] = None, det_checkpoint: Optional[str] = None,
                 min_box_size: Sequence[float] = (16, 32), batch_size: int = 8, seed: int = 0,
                 cfg_options: Optional[dict] = None, standin_dir: Optional[str] = None,
                 max_frames: int = 600, precision: Optional[str] = None,
                 animation_camera: Optional[dict] = None,
                 log: Callable[[str], None] = print) -> None:
        self.setup = resolve_demo_setup(config, checkpoint, body_model_dir, standin_dir)
        self.batch_size = batch_size
        self.min_box_size = tuple(min_box_size)
        self.max_frames = max_frames
        self.animation_camera = animation_camera
        self.log = log
        self.seed, self.cfg_options = seed, cfg_options
        self.det_config, self.det_checkpoint = det_config, det_checkpoint
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.detector = None
        self.detector_problem: Optional[str] = None
        if det_checkpoint:
            self.detector = PersonDetector(det_config, det_checkpoint, device, 0.5,
                                           self.min_box_size)
        else:
            self.detector_problem = ('no person detector was given at start (tools/webui.py '
                                     '--det-checkpoint FILE): use "whole image"')
        # Built once: every job runs the demo's Runner loop on this model.
        self.model = build_model(self.setup, device, seed, cfg_options, precision)
        self.device = str(next(self.model.parameters()).device)
        self._lock = threading.Lock()

    @property
    def notice(self) -> Optional[str]:
        """The placeholder notice, or ``None`` with the released weights and SMPL-X files."""
        return self.setup.notice

    def run_job(self, upload: str, options: JobOptions, job_dir: str) -> JobResult:
        """Run the demo on one upload and collect its outputs; one job at a time.

        Args:
            upload: The uploaded image or video.
            options: The visitor's options.
            job_dir: A new folder for this job (created; the caller deletes it).

        Returns:
            The job's files and message. A run that finds nobody is a result too, with
            a message that says so.

        Raises:
            JobError: For a bad upload or option, with a one-line message that names the
                upload by its file name.
        """
        options.check()
        name = safe_name(upload)
        try:
            with self._lock:
                return self._run(upload, name, options, job_dir)
        except JOB_ERRORS as err:
            text = str(err)
            raise JobError(text.replace(osp.join(job_dir, 'input', name), name)
                           .replace(upload, name)) from err

    # ------------------------------------------------------------------ steps
    def _run(self, upload: str, name: str, options: JobOptions, job_dir: str) -> JobResult:
        source = osp.join(job_dir, 'input', name)
        _link_or_copy(upload, source)
        kind = input_kind(source)
        if kind == 'video':
            frames = count_frames(source)
            if frames is not None and frames > self.max_frames:
                raise JobError(f'{name} has {frames} frames; this demo accepts videos of at '
                               f'most {self.max_frames} frames')
        video = kind == 'video'
        track = video and (options.track or options.smooth)
        # The demo writes the GLB/BVH itself (per track of a video, per person of an image).
        animation = () if animation_problem() or (video and not track) else ANIMATION_FORMATS
        # The settings recorded in index.json are those of this job: its people source
        # and threshold, and the model built at start (seed, overrides, precision).
        demo_options = DemoOptions(
            out_dir=osp.join(job_dir, 'out'), min_box_size=self.min_box_size,
            boxes='whole_image' if options.person_source == 'whole_image' else None,
            det_config=self.det_config, det_checkpoint=self.det_checkpoint,
            det_score_thr=options.det_score_thr, seed=self.seed, cfg_options=self.cfg_options,
            precision=self.model.precision,
            max_people=options.max_people, device=self.device, batch_size=self.batch_size,
            track=track, smooth=dict(min_cutoff=options.smooth_min_cutoff,
                                     beta=options.smooth_beta) if video and options.smooth
            else None, strict=True, show_progress=False, export_animation=animation,
            animation_camera=self.animation_camera,
            visualizer=dict(alpha=options.mesh_alpha, show_bboxes=options.show_boxes,
                            show_keypoints=options.show_keypoints))
        summary = run_demo([source], demo_options, self.setup, log=self.log, model=self.model,
                           box_source=self._box_source(options))
        outcome = summary.inputs[0]
        if outcome.status != 'done':
            raise JobError(f'no frame of {name} could be read')
        return self._collect(osp.join(outcome.folder, 'index.json'), name, kind)

    def _box_source(self, options: JobOptions) -> tuple:
        """``(source, mode)`` of this job's people: the detector built at start, or frames."""
        if options.person_source == 'whole_image':
            return make_box_source('whole_image'), 'whole_image'
        if self.detector is None:
            raise JobError(f'the person detector is not available: {self.detector_problem}')
        self.detector.score_thr = options.det_score_thr  # one job at a time (the lock)
        self.detector.max_people = options.max_people
        return self.detector, 'detector'

    def _collect(self, index_path: str, name: str, kind: str) -> JobResult:
        """Read the demo's index and turn its files into what the page shows."""
        out_dir = osp.dirname(index_path)
        with open(index_path, encoding='utf-8') as f:
            index = json.load(f)
        result = JobResult(kind=kind, notice=self.setup.notice, out_dir=out_dir,
                           num_frames=index['num_frames'], num_people=index['num_people'],
                           seconds=float(index.get('seconds') or 0.0))
        if kind == 'video' and index.get('video'):
            result.video = to_browser_mp4(osp.join(out_dir, index['video']),
                                          osp.join(out_dir, 'browser', f'{_stem(name)}.mp4'))
        elif index['frames'] and index['frames'][0].get('vis'):
            result.overlay = osp.join(out_dir, index['frames'][0]['vis'])
        result.params_zip = write_params_zip(out_dir, index, f'{_stem(name)}_smplx.zip')
        if result.num_people:
            self._find_animation(result, index)
        result.message = self._message(name, result, index)
        return result

    @staticmethod
    def _find_animation(result: JobResult, index: dict) -> None:
        """The GLB/BVH files the demo wrote (per track, longest first, or per person).

        The 3D view shows the scene of everyone when there are several and it was written.
        """
        result.animation_note = animation_problem()
        if result.animation_note:
            return
        from smplestx.apis.animation.demo_export import ANIMATION_DIR
        from smplestx.apis.animation.scene import SCENE_FILE

        if result.kind == 'video':
            if not index.get('tracks'):
                result.animation_note = ('turn on tracking to get the animated 3D view and the '
                                         'GLB/BVH downloads of each person')
                return
            tracks = sorted(index['tracks'], key=lambda t: (-t['num_frames'], t['id']))
            stems = [_stem(osp.basename(t['file'])) for t in tracks]
        else:
            stems = [_stem(osp.basename(p['params'])) for p in index['frames'][0]['people']
                     if p.get('params')]
        folder = osp.join(result.out_dir, ANIMATION_DIR)
        for stem in stems:
            glb, bvh = osp.join(folder, f'{stem}.glb'), osp.join(folder, f'{stem}.bvh')
            if not (osp.isfile(glb) and osp.isfile(bvh)):
                raise JobError(f'the demo wrote no animation for {stem} in {folder}')
            result.glb.append(glb)
            result.bvh.append(bvh)
        scene = f'{ANIMATION_DIR}/{SCENE_FILE}'
        if scene in (index.get('animation') or []):
            result.scene = osp.join(result.out_dir, scene)
        several = len(result.glb) > 1 and result.scene
        result.view3d = result.scene if several else (result.glb[0] if result.glb else None)

    def _message(self, name: str, result: JobResult, index: dict) -> str:
        """One line for the visitor about what was found."""
        frames = f'{result.num_frames} frame' + ('s' if result.num_frames != 1 else '')
        if result.num_people == 0:
            where = 'in the video' if result.kind == 'video' else 'in the image'
            width, height = self.min_box_size
            hint = ('try "whole image", or a lower detection score threshold'
                    if index.get('boxes') == 'detector' else
                    f'the frames are smaller than the smallest person box, {width:g}x{height:g} '
                    'pixels')
            return f'No people were found {where} ({name}, {frames}): {hint}.'
        people = f'{result.num_people} ' + ('person' if result.num_people == 1 else 'people')
        text = f'{name}: {people} in {frames}, {result.seconds:.1f} s'
        tracks = index.get('tracks')
        if tracks:
            text += f', {len(tracks)} track' + ('s' if len(tracks) != 1 else '')
        return text + '.'


def write_params_zip(out_dir: str, index: dict, zip_name: str) -> str:
    """Zip ``index.json`` and every parameter file it lists (``smplx/``, ``tracks/``).

    Args:
        out_dir: The demo's output folder of one input.
        index: Its ``index.json``.
        zip_name: File name of the zip, written (atomically) into ``out_dir``.

    Returns:
        The zip's path. Members are stored under the input's folder name.
    """
    members = ['index.json']
    members += [p['params'] for f in index['frames'] for p in f['people'] if p.get('params')]
    members += [t['file'] for t in index.get('tracks') or []]
    root = osp.basename(out_dir)
    path = osp.join(out_dir, zip_name)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as archive:
        for rel in members:
            archive.write(osp.join(out_dir, rel), f'{root}/{rel}')
    return path


def _stem(name: str) -> str:
    return osp.splitext(name)[0]


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst`` (same file system), else copy it."""
    os.makedirs(osp.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
