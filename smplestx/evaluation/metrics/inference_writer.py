"""The demo's writer: every unit's files, written by the process that ran the unit.

:class:`InferenceResultWriter` is the metric of :class:`~smplestx.engine.InferenceLoop`.
It writes what :mod:`smplestx.apis.exporters` describes (``.npz`` per frame and person,
``.obj``, overlays, the ``.mp4`` of a video, ``tracks/``, ``index.json``) into
``out_dir/<input name>/`` as frames arrive, all atomically. Nothing large is gathered: at
the end the processes exchange one small record per unit.

Done markers, written after everything they cover:

* ``index.json`` for a whole input (an image, a video, a folder). It records the
  ``settings`` and the ``input_fingerprint`` of the run; :func:`input_done` accepts an
  input only when both match, the index reads back, and every file it lists exists.
* ``.parts/part_NNNNNN.json`` for each part of a folder spread over several units
  (:data:`~smplestx.datasets.media_dataset.DEFAULT_PART_SIZE` images each). When all parts
  of a folder are there, the folder is *finalised*: its ``index.json`` is merged from the
  parts, files no part lists (an earlier run's leftovers) are removed, then ``.parts``.

A video (or image) that is started again first loses everything of its earlier attempts,
including the hidden temporary files of a killed run. An input that gives no frame at
all (an unreadable image, a video without one decodable frame) leaves no folder.
"""

import dataclasses
import json
import os
import os.path as osp
import shutil
import tempfile
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import cv2
import numpy as np
from mmengine.dist import all_gather_object, broadcast_object_list, get_dist_info
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from smplestx.apis.exporters import INDEX_FILE, INDEX_FORMAT, ResultWriter
from smplestx.registry import METRICS
from smplestx.utils.io import atomic_write_image, atomic_write_json

#: Folder of the per-part done markers of a folder input.
PARTS_DIR = '.parts'
#: Sub-folders the writer owns inside an input's folder.
OUTPUT_DIRS = ('smplx', 'mesh', 'vis', 'tracks', 'frames', 'animation')
#: ``hook(dest, input_meta, index)``: called for each finished input before its
#: ``index.json`` is written; it may write more files into ``dest`` (atomically) and add
#: entries to ``index`` (e.g. per-track animation files at a video's end).
EndOfInputHook = Callable[[str, Dict[str, Any], Dict[str, Any]], None]


def read_json(path: str) -> Optional[dict]:
    """A JSON object from ``path``, or ``None`` when it is missing or unreadable."""
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def part_path(dest: str, part: int) -> str:
    """The done marker of part ``part`` of a folder input."""
    return osp.join(dest, PARTS_DIR, f'part_{part:06d}.json')


def listed_files(record: Mapping[str, Any]) -> List[str]:
    """Relative paths of the files an index (or part record) lists."""
    files = [record['video']] if record.get('video') else []
    for frame in record.get('frames', []):
        files += [frame[k] for k in ('vis', 'image') if frame.get(k)]
        for person in frame.get('people', []):
            files += [person[k] for k in ('params', 'mesh') if person.get(k)]
    files += [track['file'] for track in record.get('tracks', [])]
    files += list(record.get('animation') or [])
    return files


def _matches(record: Optional[dict], settings: Mapping, fingerprint: str) -> bool:
    return (record is not None and record.get('format') == INDEX_FORMAT
            and record.get('settings') == json.loads(json.dumps(settings))
            and record.get('input_fingerprint') == fingerprint)


def _complete(dest: str, record: Optional[dict], settings: Mapping, fingerprint: str) -> bool:
    return _matches(record, settings, fingerprint) and all(
        osp.isfile(osp.join(dest, rel)) for rel in listed_files(record))


def input_done(dest: str, settings: Mapping, fingerprint: str) -> bool:
    """Whether ``dest`` holds the complete outputs of this input with these settings."""
    return _complete(dest, read_json(osp.join(dest, INDEX_FILE)), settings, fingerprint)


def part_done(dest: str, part: int, first: int, stop: int, settings: Mapping,
              fingerprint: str) -> bool:
    """Whether part ``part`` (frames ``[first, stop)``) of a folder input is complete."""
    record = read_json(part_path(dest, part))
    return (_complete(dest, record, settings, fingerprint) and record.get('first') == first
            and record.get('stop') == stop)


def reset_input(dest: str, parts: bool = False) -> None:
    """Invalidate an input's earlier outputs: its ``index.json`` (and part markers)."""
    _remove(osp.join(dest, INDEX_FILE))
    if parts:
        shutil.rmtree(osp.join(dest, PARTS_DIR), ignore_errors=True)


def clear_outputs(dest: str, keep: Sequence[str] = ()) -> None:
    """Remove what the writer owns in ``dest``, except the relative paths in ``keep``.

    That is ``index.json`` and the part markers (both stay when ``index.json`` is kept), the
    files of :data:`OUTPUT_DIRS`, the video, and hidden temporary files of interrupted
    writes. Other files stay.
    """
    keep = set(keep)
    if INDEX_FILE not in keep:
        reset_input(dest, parts=True)
    if not osp.isdir(dest):
        return
    for name in os.listdir(dest):
        path = osp.join(dest, name)
        if name in OUTPUT_DIRS and osp.isdir(path):
            for root, _, files in os.walk(path, topdown=False):
                for file in files:
                    rel = osp.relpath(osp.join(root, file), dest).replace(os.sep, '/')
                    if rel not in keep:
                        _remove(osp.join(root, file))
                if not os.listdir(root):
                    _rmdir(root)
        elif osp.isfile(path) and name not in keep and (
                name.startswith('.') or name.endswith('.mp4')):
            _remove(path)


def _describe(failure: Mapping[str, Any]) -> str:
    if 'file' in failure:
        return f'an unreadable image: {failure["error"]}'
    first, last = failure['frames']
    frames = f'frame {first}' if first == last else f'frames {first}-{last}'
    return f'{frames}: {failure["error"]}'


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


class _VideoFile:
    """An ``mp4v`` writer opened at the first frame.

    It writes a hidden temporary file that becomes the video only on :meth:`close`.
    """

    def __init__(self, path: str, fps: Optional[float]) -> None:
        self.path, self.fps = path, fps or 30.0
        self.tmp: Optional[str] = None
        self.writer: Optional[cv2.VideoWriter] = None

    def write(self, frame_bgr: np.ndarray) -> None:
        if self.writer is None:
            folder, name = osp.split(self.path)
            os.makedirs(folder, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.mp4', dir=folder)
            os.close(fd)
            height, width = frame_bgr.shape[:2]
            self.writer = cv2.VideoWriter(self.tmp, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
                                          (width, height))
            if not self.writer.isOpened():
                self.discard()
                raise RuntimeError(f'OpenCV cannot write mp4v video {self.path}')
        self.writer.write(frame_bgr)

    def close(self) -> bool:
        """Finish the video; returns whether one was written."""
        if self.writer is None:
            return False
        self.writer.release()
        os.chmod(self.tmp, 0o644)
        os.replace(self.tmp, self.path)
        self.writer = None
        return True

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.tmp:
            _remove(self.tmp)


@dataclasses.dataclass
class _Unit:
    meta: Dict[str, Any]
    part: int
    num_parts: int
    first: int
    stop: Optional[int]
    dest: str
    writer: ResultWriter
    video: Optional[_VideoFile]
    start: float
    failures: List[dict] = dataclasses.field(default_factory=list)
    video_end: Optional[int] = None
    people: int = 0


@METRICS.register_module()
class InferenceResultWriter(BaseMetric):
    """Writes the demo's files per unit, from the process that predicted it.

    ``process`` gets, per clip of :class:`~smplestx.datasets.MediaDataset`, the clip
    (``data_batch``) and its completed frames (``data_samples``,
    :class:`~smplestx.apis.frame_predictor.FrameResult`). See the module docstring for the
    layout and the done markers.

    Args:
        out_dir: Output root; input ``name`` goes to ``out_dir/name``.
        faces: (F, 3) mesh faces (overlays and ``.obj``).
        inputs: The descriptions (``MediaInput.meta()`` with ``num_parts``) of every input
            of the run, for finalising folders whose parts were written by several
            processes (or by an earlier, interrupted run).
        render: Write overlay images (and videos' ``.mp4``).
        save_mesh: Write ``.obj`` meshes.
        save_frames: Write the decoded frames of videos as ``frames/<frame>.jpg`` (for
            pseudo-labels).
        tracking: ``dict(track=bool, smooth=dict or None)``: recorded in videos' index.
        settings: What the outputs depend on (recorded; a rerun redoes an input whose
            settings differ).
        index_meta: Fields added to every ``index.json`` (config, checkpoint, boxes, ...).
        end_of_input: Hooks called for every finished input (see :data:`EndOfInputHook`).
        log: Where the one summary line per finished input goes.
        visualizer: The :class:`~smplestx.visualization.SMPLXVisualizer` drawing overlays
            (made on first use by default).
        collect_device: Unused (nothing is collected through files).
        prefix: Metric prefix (``inference``).
    """

    default_prefix = 'inference'

    def __init__(self, out_dir: str, faces: Optional[np.ndarray] = None,
                 inputs: Sequence[Dict[str, Any]] = (), render: bool = True,
                 save_mesh: bool = False, save_frames: bool = False,
                 tracking: Optional[Dict[str, Any]] = None,
                 settings: Optional[Dict[str, Any]] = None,
                 index_meta: Optional[Dict[str, Any]] = None,
                 end_of_input: Sequence[EndOfInputHook] = (),
                 log: Callable[[str], None] = print, visualizer: Any = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = osp.abspath(out_dir)
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.inputs = list(inputs)
        self.render = render
        self.save_mesh = save_mesh
        self.save_frames = save_frames
        self.tracking = dict(tracking or {})
        self.settings = dict(settings or {})
        self.index_meta = dict(index_meta or {})
        self.end_of_input = list(end_of_input)
        self.log = log
        self.visualizer = visualizer
        self.summary: Dict[str, Any] = {}
        self._unit: Optional[_Unit] = None
        self._start = time.perf_counter()
        self._frames = 0

    # ------------------------------------------------------------------ per clip
    def process(self, data_batch: Dict[str, Any], data_samples: Sequence[Any]) -> None:
        """Write the completed frames of a clip; start and finish units at their edges.

        Raises:
            OSError: When a file cannot be written (e.g. a full disk), naming the input and
                its folder; the loop then calls :meth:`abort`.
        """
        try:
            self._process(data_batch, data_samples)
        except OSError as err:
            meta = data_batch['input']
            dest = osp.join(self.out_dir, meta['name'])
            raise OSError(err.errno, f'cannot write the outputs of {meta["path"]} into '
                                     f'{dest}: {err.strerror or err}') from err

    def _process(self, data_batch: Dict[str, Any], data_samples: Sequence[Any]) -> None:
        if data_batch['begin']:
            self._begin(data_batch)
        unit = self._unit
        for result in data_samples:
            self._write_frame(unit, result)
        for failure in data_batch['failures']:
            print_log(f'{unit.meta["path"]}: skipping {_describe(failure)}', logger='current',
                      level=30)
            unit.failures.append(failure)
        if data_batch.get('video_end') is not None:
            unit.video_end = data_batch['video_end']
        if data_batch['end']:
            self._finish(unit)  # on an error the unit stays, so abort() removes its files
            self._unit = None

    def _begin(self, clip: Dict[str, Any]) -> None:
        meta = clip['input']
        dest = osp.join(self.out_dir, meta['name'])
        if clip['num_parts'] == 1:
            clear_outputs(dest)  # a whole input is redone: nothing of earlier attempts stays
        video = None
        if meta['kind'] == 'video' and self.render:
            video = _VideoFile(osp.join(dest, f'{meta["name"]}.mp4'), meta.get('fps'))
        writer = ResultWriter(dest, faces=self.faces, save_mesh=self.save_mesh)
        self._unit = _Unit(meta, clip['part'], clip['num_parts'], clip['first'], clip['stop'],
                           dest, writer, video, time.perf_counter())

    def _write_frame(self, unit: _Unit, result: Any) -> None:
        frame, people = result.frame, result.people
        vis = None
        if self.render:
            vis = np.ascontiguousarray(self._draw(frame.image, people)[..., ::-1])
            if unit.video is not None:
                unit.video.write(vis)
        entry = unit.writer.add_frame(frame.index, frame.name, people, frame.image_size,
                                      frame.source, vis)
        if self.save_frames and unit.meta['kind'] == 'video':
            entry['image'] = f'frames/{frame.name}.jpg'
            atomic_write_image(osp.join(unit.dest, entry['image']), frame.image_bgr)
        unit.people += len(people)
        self._frames += 1

    def _draw(self, image: np.ndarray, people: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if self.visualizer is None:
            from smplestx.visualization import SMPLXVisualizer

            name = f'smplestx-writer-{datetime.now().timestamp()}-{id(self)}'
            self.visualizer = SMPLXVisualizer(name=name, faces=self.faces)
        return self.visualizer.draw_people(image, people)

    # ------------------------------------------------------------------ unit ends
    def _finish(self, unit: _Unit) -> None:
        meta = unit.meta
        video_rel = None
        if unit.video is not None and unit.video.close():
            video_rel = f'{meta["name"]}.mp4'
        seconds = time.perf_counter() - unit.start
        frames = unit.writer.frames
        if meta['kind'] == 'video':
            self._check_video_length(unit, len(frames))
        record = dict(input=meta['path'], name=meta['name'], kind=meta['kind'],
                      part=unit.part, num_parts=unit.num_parts, frames=len(frames),
                      people=unit.people, failures=len(unit.failures), seconds=seconds)
        if unit.num_parts > 1:
            part = dict(format=INDEX_FORMAT, settings=self.settings,
                        input_fingerprint=meta['fingerprint'], part=unit.part,
                        first=unit.first, stop=unit.stop, seconds=round(seconds, 3),
                        frames=frames, failures=unit.failures)
            atomic_write_json(part_path(unit.dest, unit.part), part)
            self.results.append(dict(record, status='part'))
            done = self.finalize(meta, unit.num_parts)
            if done is not None:
                self.results.append(done)
            return
        if not frames:
            self._fail(unit.dest)
            self.results.append(dict(record, status='failed'))
            return
        index_meta = self._index_meta(meta, video_rel, seconds)
        index = unit.writer.build_index(index_meta)
        self._write_index(unit.writer, meta, index, unit.failures)
        self.log(f'{meta["path"]}: {len(frames)} frame(s), {unit.people} people in '
                 f'{seconds:.1f} s ({len(frames) / max(seconds, 1e-9):.2f} fps) -> '
                 f'{unit.dest}')
        self.results.append(dict(record, status='done'))

    def _check_video_length(self, unit: _Unit, decoded: int) -> None:
        announced = unit.meta.get('num_frames') or 0
        end = unit.video_end
        if announced and end is not None and end > announced:
            print_log(f'video {unit.meta["path"]}: {end} frames, but its header announces '
                      f'{announced}', logger='current', level=30)
        if unit.failures:
            skipped = sum(f['frames'][1] - f['frames'][0] + 1 for f in unit.failures)
            print_log(f'video {unit.meta["path"]}: {decoded} frame(s) read, {skipped} '
                      f'undecodable or missing (listed under "failures" in its index.json)',
                      logger='current', level=30)

    @staticmethod
    def _fail(dest: str) -> None:
        clear_outputs(dest)
        _rmdir(dest)

    def _index_meta(self, meta: Dict[str, Any], video_rel: Optional[str],
                    seconds: float) -> Dict[str, Any]:
        fps = meta.get('fps') if meta['kind'] == 'video' else None
        out = {'input': osp.abspath(meta['path']), 'input_type': meta['kind'], 'fps': fps,
               'video': video_rel, **self.index_meta, 'seconds': round(seconds, 3),
               'created': datetime.now(timezone.utc).isoformat(timespec='seconds'),
               'settings': self.settings, 'input_fingerprint': meta['fingerprint']}
        if meta['kind'] == 'video' and (self.tracking.get('track') or
                                        self.tracking.get('smooth') is not None):
            smooth = self.tracking.get('smooth')
            out.update(tracking=True,
                       smoothing=None if smooth is None else {'fps': fps, **smooth})
        return out

    def _write_index(self, writer: ResultWriter, meta: Dict[str, Any], index: Dict[str, Any],
                     failures: List[dict]) -> None:
        index['failures'] = failures
        for hook in self.end_of_input:  # the per-input (e.g. end-of-video) exporters
            hook(writer.out_dir, meta, index)
        writer.write_index(index=index)

    def finalize(self, meta: Dict[str, Any], num_parts: int) -> Optional[dict]:
        """Merge a folder's parts into its ``index.json`` once all are there.

        Returns:
            The input's record (``status`` done or failed), or ``None`` when a part is
            missing or the folder was finalised already.
        """
        dest = osp.join(self.out_dir, meta['name'])
        if input_done(dest, self.settings, meta['fingerprint']):
            return None
        parts = [read_json(part_path(dest, p)) for p in range(num_parts)]
        if not all(_matches(p, self.settings, meta['fingerprint']) for p in parts):
            return None
        frames = [f for p in parts for f in p['frames']]
        failures = [f for p in parts for f in p['failures']]
        seconds = sum(p['seconds'] for p in parts)
        people = sum(len(f['people']) for f in frames)
        record = dict(input=meta['path'], name=meta['name'], kind=meta['kind'], part=None,
                      num_parts=num_parts, frames=len(frames), people=people,
                      failures=len(failures), seconds=seconds)
        if not frames:
            self._fail(dest)
            return dict(record, status='failed')
        writer = ResultWriter(dest, faces=self.faces, save_mesh=self.save_mesh)
        writer.frames = frames
        index = writer.build_index(self._index_meta(meta, None, seconds))
        clear_outputs(dest, keep=[INDEX_FILE, *listed_files(index)])
        self._write_index(writer, meta, index, failures)
        shutil.rmtree(osp.join(dest, PARTS_DIR), ignore_errors=True)
        self.log(f'{meta["path"]}: {len(frames)} frame(s), {people} people in {seconds:.1f} s '
                 f'({len(frames) / max(seconds, 1e-9):.2f} fps) -> {dest}')
        return dict(record, status='done')

    def abort(self) -> None:
        """Remove the files of the unit being written (after an error or interrupt)."""
        unit, self._unit = self._unit, None
        if unit is None:
            return
        if unit.video is not None:
            unit.video.discard()
        if unit.num_parts == 1:
            clear_outputs(unit.dest)
        else:
            for rel in listed_files({'frames': unit.writer.frames}):
                _remove(osp.join(unit.dest, rel))
        for sub in OUTPUT_DIRS:
            _rmdir(osp.join(unit.dest, sub))
        _rmdir(unit.dest)

    # ------------------------------------------------------------------ the end
    def evaluate(self, size: int = 0) -> dict:
        """Gather the small per-unit records, finalise folders, summarise (all processes).

        Args:
            size: Unused.

        Returns:
            ``inference/inputs_done``, ``inputs_failed``, ``frames``, ``people``,
            ``failures``, ``fps``; the full summary (records, per-process frame rates) is
            :attr:`summary`.
        """
        rank, _ = get_dist_info()
        mine = dict(rank=rank, frames=self._frames,
                    seconds=time.perf_counter() - self._start, records=self.results)
        gathered = all_gather_object(mine)
        summary: List[Any] = [None]
        if rank == 0:
            records = [r for g in gathered for r in g['records']]
            finished = {r['name'] for r in records if r['status'] != 'part'}
            for meta in self.inputs:  # folders whose parts finished on several processes
                if meta.get('num_parts', 1) > 1 and meta['name'] not in finished:
                    done = self.finalize(meta, meta['num_parts'])
                    if done is not None:
                        records.append(done)
            summary[0] = dict(records=[r for r in records if r['status'] != 'part'],
                              ranks=[{k: g[k] for k in ('rank', 'frames', 'seconds')}
                                     for g in gathered])
        broadcast_object_list(summary)
        self.summary = summary[0]
        self.results.clear()
        return self.compute_metrics(self.summary)

    def compute_metrics(self, summary: Dict[str, Any]) -> Dict[str, float]:
        """Totals of a summary (numbers only, for the Runner's logs)."""
        records = summary['records']
        frames = sum(r['frames'] for r in records)
        seconds = max([g['seconds'] for g in summary['ranks']], default=0.0)
        metrics = dict(inputs_done=sum(r['status'] == 'done' for r in records),
                       inputs_failed=sum(r['status'] == 'failed' for r in records),
                       frames=frames, people=sum(r['people'] for r in records),
                       failures=sum(r['failures'] for r in records),
                       fps=round(frames / seconds, 3) if seconds > 0 else 0.0)
        return {f'{self.prefix}/{k}': v for k, v in metrics.items()}
