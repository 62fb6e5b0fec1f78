"""Write demo results: per-person SMPL-X ``.npz`` files, ``.obj`` meshes, overlays, a JSON index.

Layout under the output folder::

    smplx/<frame>_<person>.npz   SMPL-X parameters (smplx naming) + camera + box + score
                                 (+ ``track_id`` when the people were tracked)
    tracks/track_<id>.npz        tracked videos: one person's frames stacked, (T, size)
    animation/track_<id>.*       with --export-animation: GLB/BVH/AMASS files written by the
                                 demo from the track files (smplestx.apis.animation)
    mesh/<frame>_<person>.obj    the posed mesh in its camera frame (with --save-mesh)
    vis/<frame>.jpg              the overlay image (unless --no-render)
    frames/<frame>.jpg           a video's decoded frame (with --save-humandata)
    <name>.mp4                   the overlay video (video input)
    index.json                   what was written, per frame and person

Every file is written atomically, and ``index.json`` last, so a reader never sees a
half-written result (the demo's writer,
:class:`~smplestx.evaluation.metrics.InferenceResultWriter`, uses it as the input's done
marker). Parameters are stored with a batch dimension of 1, so they can be
fed straight to ``smplx.create(..., 'smplx', use_pca=False, flat_hand_mean=False)``.
"""

import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from smplestx.utils.io import atomic_write_image, atomic_write_json, atomic_write_npz, save_obj

#: SMPL-X parameters in ``smplx`` naming and their sizes (stored as ``(1, size)``).
SMPLX_PARAM_SIZES = {
    'global_orient': 3, 'body_pose': 63, 'left_hand_pose': 45, 'right_hand_pose': 45,
    'jaw_pose': 3, 'leye_pose': 3, 'reye_pose': 3, 'betas': 10, 'expression': 10, 'transl': 3,
}
#: Parameters a prediction must carry; eye poses default to zero (SMPLest-X never predicts them).
REQUIRED_PARAMS = ('global_orient', 'body_pose', 'left_hand_pose', 'right_hand_pose', 'jaw_pose',
                   'betas', 'expression', 'transl')
INDEX_FORMAT = 'smplestx-demo-results'
INDEX_VERSION = 1
#: The index of an input's outputs, written last (the input's done marker).
INDEX_FILE = 'index.json'

CONVENTIONS = {
    'units': 'metres; camera frame with OpenCV axes (x right, y down, z forward)',
    'camera': 'per person: u = focal[0] * X / Z + princpt[0], v = focal[1] * Y / Z + princpt[1] '
              'in original-image pixels, for the mesh posed with transl',
    'pose': 'axis-angle; left/right_hand_pose are relative to the SMPL-X hand mean '
            '(use flat_hand_mean=False); eye poses are zero',
    'bbox': 'detector box [x1, y1, x2, y2] in original-image pixels',
    'crop_bbox': 'the processed box [x, y, w, h] the network saw (aspect 0.75, enlarged)',
}


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def person_arrays(person: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Arrays of one person's ``.npz`` file.

    Args:
        person: A mapping (or ``InstanceData``) with the SMPL-X parameters in ``smplx``
            naming (any shape with the right number of values, e.g. ``(1, 21, 3)``),
            ``focal`` and ``princpt`` (2 values each), and optionally ``bbox`` (4),
            ``score``, ``crop_bbox`` (4), ``keypoints_2d`` (K, 2), ``joints`` (K, 3) and
            ``track_id`` (an int, set by tracking).

    Returns:
        float32 arrays: each parameter as ``(1, size)``, ``focal``/``princpt`` ``(2,)``,
        ``bbox``/``crop_bbox`` ``(4,)``, ``score`` ``()``, keypoints as given; ``track_id``
        as an int64 ``()`` array when the person has one.

    Raises:
        KeyError: If a required parameter or the camera is missing.
        ValueError: If a value has the wrong number of elements.
    """
    out: Dict[str, np.ndarray] = {}
    for key, size in SMPLX_PARAM_SIZES.items():
        value = person.get(key)
        if value is None:
            if key in REQUIRED_PARAMS:
                raise KeyError(f'prediction has no SMPL-X parameter {key!r}')
            value = np.zeros(size)
        array = _numpy(value).astype(np.float32)
        if array.size != size:
            raise ValueError(f'SMPL-X parameter {key!r} must have {size} values, got shape '
                             f'{array.shape}')
        out[key] = array.reshape(1, size)
    for key, size, required in (('focal', 2, True), ('princpt', 2, True), ('bbox', 4, False),
                                ('crop_bbox', 4, False)):
        value = person.get(key)
        if value is None:
            if required:
                raise KeyError(f'prediction has no camera {key!r} (image pixels)')
            continue
        array = _numpy(value).astype(np.float32).reshape(-1)
        if array.size != size:
            raise ValueError(f'{key!r} must have {size} values, got {array.size}')
        out[key] = array
    score = person.get('score')
    out['score'] = np.asarray(np.nan if score is None else float(_numpy(score).reshape(-1)[0]),
                              dtype=np.float32)
    for key, dim in (('keypoints_2d', 2), ('joints', 3)):
        value = person.get(key)
        if value is not None:
            out[key] = _numpy(value).astype(np.float32).reshape(-1, dim)
    if person.get('track_id') is not None:
        out['track_id'] = np.asarray(int(person['track_id']), dtype=np.int64)
    return out


class ResultWriter:
    """Writes demo results for one input (an image, a folder of images or a video).

    Args:
        out_dir: Output folder of this input.
        faces: (F, 3) mesh faces, needed for ``save_mesh``.
        save_params: Write ``smplx/*.npz`` files.
        save_mesh: Write ``mesh/*.obj`` files (each person's ``vertices``).
        vis_ext: Extension of overlay images.
    """

    def __init__(self, out_dir: str, faces: Optional[np.ndarray] = None, save_params: bool = True,
                 save_mesh: bool = False, vis_ext: str = '.jpg') -> None:
        if save_mesh and faces is None:
            raise ValueError('save_mesh needs the mesh faces')
        self.out_dir = osp.abspath(out_dir)
        self.faces = None if faces is None else np.asarray(faces, dtype=np.int64)
        self.save_params = save_params
        self.save_mesh = save_mesh
        self.vis_ext = vis_ext
        self.frames: List[Dict[str, Any]] = []
        #: track id -> [(frame index, that frame's arrays)], in frame order.
        self.tracks: Dict[int, List[Tuple[int, Dict[str, np.ndarray]]]] = {}

    def _rel(self, *parts: str) -> str:
        return '/'.join(parts)

    def add_frame(self, index: int, name: str, people: Sequence[Mapping[str, Any]],
                  image_size: Sequence[int], source: Optional[str] = None,
                  vis_image: Optional[np.ndarray] = None) -> Dict[str, Any]:
        """Write one frame's files and remember its index entry.

        Args:
            index: Frame number (0-based) within the input.
            name: File stem for this frame (unique within the input).
            people: Per-person predictions (see :func:`person_arrays`); meshes need
                ``vertices`` (V, 3).
            image_size: (H, W) of the original frame.
            source: Where the frame came from (image path, or None for video frames).
            vis_image: The BGR overlay image to save, if any.

        Returns:
            The frame's index entry.
        """
        entry: Dict[str, Any] = {'index': int(index), 'name': name, 'source': source,
                                 'image_size': [int(v) for v in image_size[:2]],
                                 'vis': None, 'people': []}
        for pid, person in enumerate(people):
            arrays = person_arrays(person)
            stem = f'{name}_{pid:02d}'
            record: Dict[str, Any] = {
                'id': pid,
                'bbox': arrays['bbox'].tolist() if 'bbox' in arrays else None,
                'score': None if np.isnan(arrays['score']) else float(arrays['score']),
                'focal': arrays['focal'].tolist(), 'princpt': arrays['princpt'].tolist(),
                'params': None, 'mesh': None}
            if 'track_id' in arrays:
                record['track_id'] = int(arrays['track_id'])
                self.tracks.setdefault(record['track_id'], []).append((int(index), arrays))
            if self.save_params:
                record['params'] = self._rel('smplx', stem + '.npz')
                atomic_write_npz(osp.join(self.out_dir, record['params']), arrays)
            if self.save_mesh:
                vertices = person.get('vertices')
                if vertices is None:
                    raise KeyError('save_mesh needs each prediction to carry `vertices`')
                record['mesh'] = self._rel('mesh', stem + '.obj')
                save_obj(osp.join(self.out_dir, record['mesh']), _numpy(vertices).reshape(-1, 3),
                         self.faces)
            entry['people'].append(record)
        if vis_image is not None:
            entry['vis'] = self._rel('vis', name + self.vis_ext)
            atomic_write_image(osp.join(self.out_dir, entry['vis']), vis_image)
        self.frames.append(entry)
        return entry

    def track_file(self, track_id: int) -> str:
        """Path of a track's sequence file, relative to the output folder."""
        return self._rel('tracks', f'track_{track_id:04d}.npz')

    def write_tracks(self, fps: Optional[float] = None) -> List[Dict[str, Any]]:
        """Write one ``tracks/track_<id>.npz`` per tracked person (atomically).

        A track file stacks the person's frames: every SMPL-X parameter as ``(T, size)``
        (``smplx`` naming, as in the per-frame files, so ``smplx.create(...,
        batch_size=T)`` poses the whole sequence at once), ``focal`` and ``princpt``
        ``(T, 2)``, ``score`` ``(T,)``, ``bbox`` ``(T, 4)`` when every frame has one,
        ``frame_index`` ``(T,)`` (frames where the person was not found are absent, so
        check it for gaps), ``fps`` (``()``, NaN when unknown) and ``image_size`` (H, W).

        Args:
            fps: Frame rate of the video.

        Returns:
            One index entry per track: ``id``, ``file``, ``num_frames``, ``first_frame``,
            ``last_frame``.
        """
        entries = []
        for track_id in sorted(self.tracks):
            frames = self.tracks[track_id]
            per_frame = [arrays for _, arrays in frames]
            stacked = {key: np.concatenate([a[key] for a in per_frame])
                       for key in SMPLX_PARAM_SIZES}
            for key in ('focal', 'princpt', 'bbox', 'score'):
                if all(key in a for a in per_frame):
                    stacked[key] = np.stack([a[key] for a in per_frame])
            stacked['frame_index'] = np.array([i for i, _ in frames], dtype=np.int64)
            stacked['fps'] = np.asarray(np.nan if fps is None else fps, dtype=np.float32)
            stacked['image_size'] = np.asarray(self.frames[0]['image_size'], dtype=np.int64)
            rel = self.track_file(track_id)
            atomic_write_npz(osp.join(self.out_dir, rel), stacked)
            entries.append({'id': track_id, 'file': rel, 'num_frames': len(frames),
                            'first_frame': frames[0][0], 'last_frame': frames[-1][0]})
        return entries

    def build_index(self, meta: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """The content of ``index.json``: ``meta`` and every frame added so far.

        The track files (:meth:`write_tracks`) of tracked people are written here and
        listed under ``tracks``.

        Args:
            meta: Extra top-level fields (input, config, checkpoint, fps, video, ...).

        Returns:
            The index, ready for :meth:`write_index`.
        """
        meta = dict(meta or {})
        index = {'format': INDEX_FORMAT, 'version': INDEX_VERSION, **meta,
                 'conventions': CONVENTIONS, 'num_frames': len(self.frames),
                 'num_people': sum(len(f['people']) for f in self.frames),
                 'frames': self.frames}
        if self.tracks:
            index['tracks'] = self.write_tracks(meta.get('fps'))
        return index

    def write_index(self, meta: Optional[Mapping[str, Any]] = None,
                    index: Optional[Mapping[str, Any]] = None) -> str:
        """Write ``index.json`` (atomically), after every other file of the input.

        Args:
            meta: Extra top-level fields, when ``index`` is not given.
            index: A prepared index (:meth:`build_index`, possibly extended).

        Returns:
            The path of the index file.
        """
        index = self.build_index(meta) if index is None else index
        path = osp.join(self.out_dir, INDEX_FILE)
        atomic_write_json(path, index)
        return path
