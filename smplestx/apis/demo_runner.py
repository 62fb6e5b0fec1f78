"""The demo as one function: check everything, plan, run the Runner loop, summarise.

:func:`run_demo` is the single entry point of the demo: ``tools/demo.py`` (one process,
``tools/dist_demo.sh`` with torchrun, ``tools/slurm_demo.sh``) and Python callers run it
with a list of inputs and :class:`DemoOptions`, and get a :class:`DemoSummary` back.

1. Checks that need no model, so that mistakes fail in a second: the device, the output
   folder (creatable and writable), the inputs (exist, known kind, videos open, folders
   hold images), the boxes file (parses; keys that match no frame are named), the shard.
2. The plan: inputs are named (:func:`~smplestx.datasets.media_dataset.output_names`), the
   shard's share is kept (input ``i`` belongs to shard ``i % N``), and each input is cut
   into units; units whose outputs are complete are skipped (resume), unless
   ``overwrite``. Every process computes the same plan before the process group starts,
   so none has written anything yet.
3. If anything is left: the model (:func:`~smplestx.apis.demo.build_model`, i.e.
   ``init_model``), the box source, and MMEngine's Runner with
   :class:`~smplestx.datasets.MediaDataset`,
   :class:`~smplestx.datasets.samplers.InferenceSampler`,
   :class:`~smplestx.engine.InferenceLoop` (with
   :class:`~smplestx.apis.frame_predictor.FramePredictor`) and
   :class:`~smplestx.evaluation.metrics.InferenceResultWriter`.
4. The summary: per input, done / skipped / failed, and per process frames and frame rate;
   with ``save_humandata``, the pseudo-label file.
"""

import dataclasses
import hashlib
import os
import os.path as osp
import shutil
import tempfile
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from smplestx.apis.demo import DemoSetup, build_model, resolve_demo_setup
from smplestx.apis.detection import GivenBoxes, PersonDetector, make_box_source
from smplestx.apis.exporters import INDEX_FILE
from smplestx.apis.frame_predictor import FramePredictor, build_inference_pipeline
from smplestx.apis.inference import load_config
from smplestx.datasets.media_dataset import (
    DEFAULT_CLIP_LEN,
    DEFAULT_PART_SIZE,
    MediaDataset,
    MediaInput,
    MediaUnit,
    describe_inputs,
    first_item,
    split_units,
)
from smplestx.models.utils.precision import resolve_precision
from smplestx.visualization import SMPLXVisualizer

#: Up to this many skipped (complete) inputs are named one per line; more get one line.
MAX_LISTED_SKIPS = 20
#: Timeout of the demo's process group: a process that finished its units waits for the
#: others at the end, however long their videos take.
DIST_TIMEOUT_S = 7 * 24 * 3600


@dataclasses.dataclass
class DemoOptions:
    """Options of :func:`run_demo` (the command line of ``tools/demo.py``).

    Attributes:
        out_dir: Output root; each input writes ``out_dir/<name>/``.
        boxes: ``'whole_image'``, a JSON boxes file, or ``None`` for the person detector.
        det_config: Detector config (RTMDet-tiny by default).
        det_checkpoint: Detector weights (downloaded once by default).
        det_score_thr: Minimum detection score.
        min_box_size: Minimum person box (width, height) in pixels.
        max_people: Keep at most this many people per frame.
        device: Torch device of a one-process run (default: the GPU when there is one);
            distributed runs use GPU ``LOCAL_RANK`` (or the CPU where there is none).
        batch_size: People per model batch.
        render: Write overlays (and videos' ``.mp4``).
        save_mesh: Write ``.obj`` meshes.
        save_humandata: Also write the results as a HumanData file (pseudo-labels).
        track: Track the people of videos.
        smooth: Smooth the people of videos (options of
            :class:`~smplestx.apis.smoothing.SMPLXSmoother`; implies ``track``).
        overwrite: Redo inputs whose outputs are complete.
        strict: Stop at the first unreadable image or video frame.
        shard: ``(index, count)``: this job runs inputs ``i`` with ``i % count == index``.
        launcher: ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``.
        num_workers: Dataloader workers decoding frames (0: in the main process).
        clip_len: Video frames decoded per dataloader item.
        part_size: Images per unit of a folder (the images of a folder spread over
            processes in units of this size).
        show_progress: Progress bars on stderr.
        seed: Seed of placeholder weights.
        cfg_options: Overrides of the model config.
        work_dir: Where the Runner keeps its logs (a temporary folder by default).
        precision: Inference precision (``'fp32'``, ``'bf16'``, ``'fp16'``, ``'int8'`` or
            ``'auto'``, see :mod:`smplestx.models.utils.precision`); ``None`` uses the
            config's ``precision`` key (fp32 when absent).
        export_animation: Animation formats (``'glb'``, ``'bvh'``, ``'amass'``, ``'scene'``)
            written to ``<name>/animation/``: one file per track of a video (implies
            ``track``), one single-frame file per person of an image; ``'scene'``: one
            ``scene.glb`` with all of them (:mod:`smplestx.apis.animation`).
        animation_camera: ``fov`` (degrees) or ``focal`` (pixels) of the video camera the
            animation's root trajectory is expressed in (default: the image diagonal).
        visualizer: Keyword arguments of the overlays'
            :class:`~smplestx.visualization.SMPLXVisualizer` (``alpha``, ``show_bboxes``,
            ``show_keypoints``, ...).
        end_of_input: Extra exporters called for every finished input (see
            :data:`~smplestx.evaluation.metrics.inference_writer.EndOfInputHook`).
    """

    out_dir: str = 'outputs/demo'
    boxes: Optional[str] = None
    det_config: Optional[str] = None
    det_checkpoint: Optional[str] = None
    det_score_thr: float = 0.5
    min_box_size: Tuple[float, float] = (16, 32)
    max_people: Optional[int] = None
    device: Optional[str] = None
    batch_size: int = 8
    render: bool = True
    save_mesh: bool = False
    save_humandata: bool = False
    track: bool = False
    smooth: Optional[Dict[str, Any]] = None
    overwrite: bool = False
    strict: bool = False
    shard: Tuple[int, int] = (0, 1)
    launcher: str = 'none'
    num_workers: int = 0
    clip_len: int = DEFAULT_CLIP_LEN
    part_size: int = DEFAULT_PART_SIZE
    show_progress: bool = True
    seed: int = 0
    cfg_options: Optional[Dict[str, Any]] = None
    work_dir: Optional[str] = None
    precision: Optional[str] = None
    export_animation: Sequence[str] = ()
    animation_camera: Optional[Dict[str, float]] = None
    visualizer: Optional[Dict[str, Any]] = None
    end_of_input: Sequence[Callable[[str, Dict[str, Any], Dict[str, Any]], None]] = ()


@dataclasses.dataclass
class InputOutcome:
    """What happened to one input of the shard.

    Attributes:
        input: The path as given.
        name: Output folder name.
        folder: Output folder.
        status: ``'done'`` (written now), ``'skipped'`` (complete before), ``'failed'`` (no
            frame could be read) or ``'pending'`` (a folder whose parts are not all done).
        frames: Frames in the outputs finished now (a folder merged now counts its parts
            written by earlier runs too).
        people: People in those frames.
        failures: Unreadable images or undecodable/missing video frame ranges (listed
            under ``failures`` in the input's ``index.json``).
    """

    input: str
    name: str
    folder: str
    status: str
    frames: int = 0
    people: int = 0
    failures: int = 0


@dataclasses.dataclass
class DemoSummary:
    """The result of :func:`run_demo`.

    Attributes:
        out_dir: Output root.
        inputs: One outcome per input of this shard, in input order.
        ranks: Per process: ``rank``, ``frames``, ``seconds``.
        humandata: The pseudo-label file, with ``save_humandata``.
    """

    out_dir: str
    inputs: List[InputOutcome]
    ranks: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    humandata: Optional[str] = None

    @property
    def folders(self) -> List[str]:
        """Output folders of the inputs that have complete outputs."""
        return [o.folder for o in self.inputs if o.status in ('done', 'skipped')]

    @property
    def exit_code(self) -> int:
        """0 when every input and frame was read, else 1 (see docs/bad_inputs.md)."""
        bad = any(o.status in ('failed', 'pending') or o.failures for o in self.inputs)
        return 1 if bad else 0


# ----------------------------------------------------------------------------- checks
def check_device(device: Optional[str]) -> None:
    """Fail early for a device that does not exist here.

    Raises:
        ValueError: For an invalid device string, or a GPU that is not there.
    """
    if device is None:
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f'--device {device}: {err}') from None
    if dev.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f'--device {device}: no CUDA GPU is available here (use --device '
                             f'cpu)')
        if dev.index is not None and dev.index >= count:
            raise ValueError(f'--device {device}: there are only {count} GPU(s)')


def check_out_dir(out_dir: str) -> None:
    """Create the output folder and make sure files can be written into it.

    Raises:
        OSError: Naming the folder and the reason (e.g. a regular file on the way).
    """
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix='.write-test-', dir=out_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OSError(err.errno, f'cannot write to the output folder {out_dir}: '
                                 f'{err.strerror or err}') from None


def _frame_keys(inputs: Sequence[MediaInput]) -> List[str]:
    keys: List[str] = []
    for item in inputs:
        if item.kind == 'video':
            keys += [f'{i:06d}' for i in range(item.num_frames)]
            keys += [str(i) for i in range(item.num_frames)]
            continue
        for i, (path, name) in enumerate(zip(item.images, item.frame_names)):
            base = osp.basename(path)
            keys += [name, str(i), base, osp.splitext(base)[0]]
    return keys


def _box_source(options: DemoOptions, device: str) -> Tuple[Any, str]:
    """The box source and how it is recorded in the index."""
    if options.boxes == 'whole_image':
        return make_box_source('whole_image'), 'whole_image'
    if options.boxes:
        return make_box_source(options.boxes, options.max_people), f'file:{options.boxes}'
    return PersonDetector(options.det_config, options.det_checkpoint, device,
                          options.det_score_thr, tuple(options.min_box_size),
                          options.max_people), 'detector'


def _file_id(path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    st = os.stat(path)
    return f'{osp.abspath(path)}:{st.st_size}:{st.st_mtime_ns}'


def demo_settings(setup: DemoSetup, options: DemoOptions,
                  model: Optional[torch.nn.Module] = None) -> Dict[str, Any]:
    """What the outputs depend on: an input done with other settings is redone.

    The precision is the concrete mode (``auto`` resolved on this process's device, or
    ``model``'s when a built model is given), so a run resumed on a machine where ``auto``
    means another mode redoes the inputs instead of mixing modes.
    """
    if options.boxes == 'whole_image':
        boxes: Any = 'whole_image'
    elif options.boxes:
        with open(options.boxes, 'rb') as f:
            boxes = dict(file=osp.abspath(options.boxes),
                         sha256=hashlib.sha256(f.read()).hexdigest())
    else:
        boxes = dict(detector=options.det_config, weights=_file_id(options.det_checkpoint),
                     score_thr=options.det_score_thr)
    settings = dict(config=osp.abspath(setup.config), checkpoint=_file_id(setup.checkpoint),
                  seed=options.seed if setup.placeholder else None,
                  body_model_dir=setup.body_model_dir, cfg_options=options.cfg_options,
                  boxes=boxes, min_box_size=list(options.min_box_size),
                  max_people=options.max_people, render=options.render,
                  save_mesh=options.save_mesh, save_frames=options.save_humandata,
                  track=options.track, smooth=options.smooth,
                  precision=_concrete_precision(setup, options, model),
                  export_animation=sorted(options.export_animation),
                  animation_camera=options.animation_camera or None)
    if options.visualizer:
        settings['visualizer'] = dict(options.visualizer)
    return settings


def _concrete_precision(setup: DemoSetup, options: DemoOptions,
                        model: Optional[torch.nn.Module]) -> str:
    """The precision the outputs are made in, known before any model is loaded."""
    if model is not None and getattr(model, 'precision', None):
        return model.precision
    name = options.precision
    if name is None:
        name = load_config(setup.config, options.cfg_options).get('precision')
    return resolve_precision(name, _process_device(options)).name


# ----------------------------------------------------------------------------- plan
@dataclasses.dataclass
class DemoPlan:
    """The inputs of this shard and the units still to run.

    Attributes:
        inputs: The shard's inputs.
        todo: Units to run.
        skipped: Names of inputs complete before this run.
        finalize: Names of folders whose parts are all done but not yet merged.
    """

    inputs: List[MediaInput]
    todo: List[MediaUnit]
    skipped: List[str]
    finalize: List[str]

    def num_parts(self, item: MediaInput, part_size: int) -> int:
        """Units of ``item``."""
        return 1 if item.kind == 'video' else -(-item.num_frames // part_size)


def plan_demo(inputs: Sequence[MediaInput], options: DemoOptions,
              settings: Dict[str, Any]) -> DemoPlan:
    """The shard's inputs and their units still to run (see the module docstring)."""
    from smplestx.evaluation.metrics.inference_writer import input_done, part_done, reset_input

    index, count = options.shard
    mine = [item for item in inputs if item.index % count == index]
    units = split_units(mine, options.part_size)
    todo, skipped, finalize = [], [], []
    for item in mine:
        dest = osp.join(options.out_dir, item.name)
        own = [u for u in units if u.input == item.index]
        if options.overwrite:
            reset_input(dest, parts=True)
            todo += own
            continue
        if input_done(dest, settings, item.fingerprint):
            skipped.append(item.name)
            continue
        reset_input(dest)
        if len(own) == 1:
            todo += own
            continue
        left = [u for u in own if not part_done(dest, u.part, u.first, u.stop, settings,
                                                item.fingerprint)]
        todo += left
        if not left:
            finalize.append(item.name)
    return DemoPlan(mine, todo, skipped, finalize)


# ----------------------------------------------------------------------------- run
def _process_device(options: DemoOptions) -> str:
    if options.launcher != 'none':
        if torch.cuda.is_available():
            local = os.environ.get('LOCAL_RANK', os.environ.get('SLURM_LOCALID', 0))
            return f'cuda:{int(local) % torch.cuda.device_count()}'
        return 'cpu'
    if options.device:
        return options.device
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def is_main_process(options: DemoOptions) -> bool:
    """Whether this process is rank 0 of the run ``options`` describe (torchrun or Slurm)."""
    if options.launcher == 'none':
        return True
    return int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', 0))) == 0


def run_demo(inputs: Sequence[Union[str, os.PathLike]], options: Optional[DemoOptions] = None,
             setup: Optional[DemoSetup] = None, log: Callable[[str], None] = print,
             model: Optional[torch.nn.Module] = None,
             box_source: Optional[Tuple[Any, str]] = None) -> DemoSummary:
    """Run the demo on image files, image folders and videos; write every result.

    Args:
        inputs: Image files, image folders or video files.
        options: What to run and write (defaults: :class:`DemoOptions`).
        setup: Model files (default: :func:`~smplestx.apis.demo.resolve_demo_setup`).
        log: Where the summary lines go.
        model: The model of ``setup``, built once by a caller that runs many demos (the
            web demo); built here when ``None``. One process only.
        box_source: ``(source, mode)``: a person-box source built once by such a caller
            and how the index records it (``'detector'``, ``'whole_image'``); made from
            ``options`` when ``None``.

    Returns:
        What was written, skipped or failed.

    Raises:
        ValueError, OSError: For bad inputs, options or output folders, before any model is
            loaded (and for write errors such as a full disk, after removing the input's
            partial files).
    """
    # The writer's done markers (imported here: the writer module imports smplestx.apis).
    from smplestx.evaluation.metrics.inference_writer import read_json

    options = options or DemoOptions()
    if options.export_animation:
        from smplestx.apis.animation.export import check_formats

        check_formats(options.export_animation)
        options = dataclasses.replace(options, track=True)  # one animation per person track
    index, count = options.shard
    if not 0 <= index < count:
        raise ValueError(f'--shard {index}/{count}: need 0 <= index < count')
    for name in ('batch_size', 'clip_len', 'part_size'):
        if getattr(options, name) < 1:
            raise ValueError(f'{name} must be >= 1, got {getattr(options, name)}')
    check_device(options.device if options.launcher == 'none' else None)
    check_out_dir(options.out_dir)
    described = describe_inputs(inputs)
    main = is_main_process(options)
    if options.boxes not in (None, 'whole_image'):
        unmatched = GivenBoxes.from_json(options.boxes).unmatched_keys(_frame_keys(described))
        if unmatched and main:
            shown = ', '.join(repr(k) for k in unmatched[:10])
            more = f' (and {len(unmatched) - 10} more)' if len(unmatched) > 10 else ''
            log(f'warning: boxes file {options.boxes}: {len(unmatched)} key(s) match no frame '
                f'of the inputs: {shown}{more}')
    setup = setup or resolve_demo_setup()
    settings = demo_settings(setup, options, model)
    plan = plan_demo(described, options, settings)
    outcomes = {item.name: InputOutcome(item.path, item.name,
                                        osp.join(options.out_dir, item.name), 'pending')
                for item in plan.inputs}
    for name in plan.skipped:
        outcome = outcomes[name]
        outcome.status = 'skipped'
        index = read_json(osp.join(outcome.folder, INDEX_FILE)) or {}
        outcome.failures = len(index.get('failures', []))  # the exit status says so again
        if main and len(plan.skipped) <= MAX_LISTED_SKIPS:
            log(f'{outcome.input}: complete already -> {outcome.folder} (--overwrite redoes it)')
    if main and len(plan.skipped) > MAX_LISTED_SKIPS:
        log(f'{len(plan.skipped)} inputs complete already: skipped (--overwrite redoes them)')
    summary = DemoSummary(options.out_dir, list(outcomes.values()))
    if plan.todo or plan.finalize:
        records, ranks = _run_runner(plan, options, setup, settings, log, model, box_source)
        summary.ranks = ranks
        for record in records:
            outcome = outcomes[record['name']]
            outcome.status = record['status']
            outcome.frames, outcome.people = record['frames'], record['people']
            outcome.failures = record['failures']
    if main:
        _log_summary(summary, log)
    if options.save_humandata and main:
        from smplestx.apis.humandata_export import export_humandata

        suffix = '' if count == 1 else f'_shard{index}of{count}'
        summary.humandata = osp.join(options.out_dir, f'humandata{suffix}.npz')
        done = [o.name for o in summary.inputs if o.status in ('done', 'skipped')]
        num = export_humandata(options.out_dir, done, summary.humandata, setup.body_model_dir)
        log(f'pseudo-labels: {num} people of {len(done)} input(s) -> {summary.humandata}')
    return summary


def _end_of_input_hooks(options: DemoOptions, setup: DemoSetup) -> list:
    """The writer's per-input steps: the animation export (if asked), then the user's."""
    hooks = []
    if options.export_animation:
        from smplestx.apis.animation.demo_export import DemoAnimationExport

        hooks.append(DemoAnimationExport(options.export_animation, setup.body_model_dir,
                                         options.animation_camera))
    return hooks + list(options.end_of_input)


def _run_runner(plan: DemoPlan, options: DemoOptions, setup: DemoSetup,
                settings: Dict[str, Any], log: Callable[[str], None],
                model: Optional[torch.nn.Module] = None,
                boxes: Optional[Tuple[Any, str]] = None) -> Tuple[List[dict], List[dict]]:
    from smplestx.engine.runner import SMPLestXRunner, release_runner

    device = _process_device(options)
    box_source, boxes_mode = boxes or _box_source(options, device)
    if model is None:
        model = build_model(setup, device, options.seed, options.cfg_options,
                            options.precision)
    predictor = FramePredictor(model, build_inference_pipeline(model.cfg), box_source,
                               options.batch_size, min_box_size=options.min_box_size,
                               max_people=options.max_people, track=options.track,
                               smooth=options.smooth)
    dataset = MediaDataset(plan.inputs, plan.todo, clip_len=options.clip_len,
                           strict=options.strict)
    metas = [dict(item.meta(), num_parts=plan.num_parts(item, options.part_size))
             for item in plan.inputs]
    index_meta = dict(boxes=boxes_mode, device=str(next(model.parameters()).device),
                      config=osp.abspath(setup.config),
                      checkpoint=setup.checkpoint and osp.abspath(setup.checkpoint),
                      body_model_dir=setup.body_model_dir, standin_body_model=setup.standin,
                      placeholder_weights=setup.placeholder, notice=setup.notice)
    writer = dict(type='InferenceResultWriter', out_dir=options.out_dir,
                  faces=np.asarray(model.head.body_model.faces), inputs=metas,
                  render=options.render, save_mesh=options.save_mesh,
                  save_frames=options.save_humandata,
                  tracking=dict(track=options.track, smooth=options.smooth),
                  settings=settings, index_meta=index_meta,
                  end_of_input=_end_of_input_hooks(options, setup), log=log)
    visualizer = SMPLXVisualizer(name=f'smplestx-demo-{uuid.uuid4().hex}', faces=writer['faces'],
                                 **(options.visualizer or {}))
    writer['visualizer'] = visualizer  # the Runner's too (MMEngine's would be a second figure)
    work_dir = options.work_dir or tempfile.mkdtemp(prefix='smplestx-demo-')
    try:
        runner = SMPLestXRunner(
            model=model, work_dir=work_dir,
            test_dataloader=dict(dataset=dataset, sampler=dict(type='InferenceSampler'),
                                 batch_size=1, num_workers=options.num_workers,
                                 persistent_workers=False, collate_fn=first_item),
            test_cfg=dict(type='InferenceLoop', predictor=predictor),
            test_evaluator=writer,
            custom_hooks=[dict(type='InferenceProgressHook', enabled=options.show_progress)],
            launcher=options.launcher,
            env_cfg=dict(mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
                         dist_cfg=dict(backend='nccl', timeout=DIST_TIMEOUT_S)),
            visualizer=visualizer, log_level='WARNING', default_scope='smplestx',
            experiment_name=f'smplestx-demo-{uuid.uuid4().hex[:8]}',
            cfg=dict(device=device))
        try:
            runner.test()
            result = runner.test_loop.evaluator.metrics[0].summary
        finally:
            release_runner(runner)  # the visualizer above is the Runner's
    finally:
        if options.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    return result['records'], result['ranks']


def _log_summary(summary: DemoSummary, log: Callable[[str], None]) -> None:
    for outcome in summary.inputs:
        if outcome.status == 'failed':
            log(f'{outcome.input}: failed: not one frame could be read (see the warning '
                f'above); nothing was written for it')
        elif outcome.status == 'pending':
            log(f'{outcome.input}: not finished: some parts of the folder are missing')
        elif outcome.failures:
            log(f'{outcome.input}: {outcome.failures} unreadable image(s) or frame range(s) '
                f'skipped, listed under "failures" in {outcome.folder}/index.json')
    if len(summary.ranks) > 1:
        for rank in summary.ranks:
            log(f'process {rank["rank"]}: {rank["frames"]} frame(s) in '
                f'{rank["seconds"]:.1f} s ({rank["frames"] / max(rank["seconds"], 1e-9):.2f} '
                f'fps)')
    if summary.ranks:
        frames = sum(r['frames'] for r in summary.ranks)
        seconds = max(r['seconds'] for r in summary.ranks)
        done = sum(o.status == 'done' for o in summary.inputs)
        log(f'{done} input(s) written, {frames} frame(s) in {seconds:.1f} s '
            f'({frames / max(seconds, 1e-9):.2f} fps over {len(summary.ranks)} process(es))')
