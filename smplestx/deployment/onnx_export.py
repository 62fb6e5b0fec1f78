"""Export a SMPLest-X model to ONNX and check the exported graph with ONNX Runtime.

The graph takes the network input of :class:`~smplestx.models.SMPLestX` (the output of
its data preprocessor): ``img``, (B, 3, 256, 192) float32 RGB crops in [0, 1], with a
dynamic batch size. It returns, per crop, the SMPL-X parameters in ``smplx`` naming and,
unless ``with_mesh=False``, the posed mesh (see :data:`PARAM_OUTPUTS` and
:data:`MESH_OUTPUTS`). Nothing after the network is left out: the 6D -> axis-angle
conversions, the camera translation and the SMPL-X layer (from the ``smplx`` package) are
part of the graph, so an ONNX Runtime user gets the same numbers as ``model.predict``.

The graph is made by ``torch.onnx.export(..., dynamo=True)`` (``torch.export``). One thing
needs help: ``smplx``'s kinematic chain indexes a Python list with the values of its
``parents`` buffer, which ``torch.export`` cannot do with a traced tensor. While exporting,
:func:`static_kinematic_tree` therefore holds the (constant) tree as a numpy array; the
buffer is put back afterwards. The exporter's own graph optimisation is off: the
onnxscript 0.7.2 optimiser drops the ``+ 1e-8`` of ``smplx.lbs.batch_rodrigues``, which
turns every zero rotation (the eye poses always are) into NaN. ONNX Runtime optimises the
graph when it loads it anyway.
"""

import contextlib
import os
import os.path as osp
import tempfile
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from smplestx.models.heads.smplx_transformer_head import camera_frame_joints

#: Parameter outputs: name -> source key of ``SMPLXTransformerHead.decode`` (sizes as in
#: :data:`smplestx.apis.exporters.SMPLX_PARAM_SIZES`).
PARAM_OUTPUTS: Dict[str, str] = {
    'global_orient': 'root_pose',
    'body_pose': 'body_pose',
    'left_hand_pose': 'lhand_pose',
    'right_hand_pose': 'rhand_pose',
    'jaw_pose': 'jaw_pose',
    'betas': 'shape',
    'expression': 'expr',
    'transl': 'cam_trans',
}
#: Mesh outputs (``with_mesh=True``): vertices and joints in the camera frame (metres), and
#: the joints projected into the heatmap frame of the crop (``keypoints_2d_hm``, as in
#: ``pred_instances``). Their sizes depend on the body model.
MESH_OUTPUTS = ('vertices', 'joints', 'keypoints_2d_hm')
INPUT_NAME = 'img'
#: ONNX opset of the exported graphs.
DEFAULT_OPSET = 18
#: Weights above this size go to ``<file>.data`` by default: protobuf cannot hold more than
#: 2 GB in one file, and the graph needs room next to the weights.
_EXTERNAL_DATA_MIN_BYTES = 2**30


def _require_onnx() -> None:
    """Raise a one-line error when ``onnx`` or ``onnxruntime`` is not installed."""
    missing = []
    for name in ('onnx', 'onnxruntime'):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f'ONNX export needs {" and ".join(missing)}: '
                          f'pip install "smplestx[deploy]" (or pip install {" ".join(missing)})')


class SMPLestXExportWrapper(nn.Module):
    """The estimator's test-mode forward with flat, named tensor outputs.

    Args:
        model: A :class:`~smplestx.models.SMPLestX` whose head has a body model.
        with_mesh: Also return :data:`MESH_OUTPUTS` (runs the SMPL-X layer).
    """

    def __init__(self, model: nn.Module, with_mesh: bool = True) -> None:
        super().__init__()
        head = model.head
        if getattr(head, 'body_model', None) is None:
            raise ValueError('ONNX export needs the model built with its SMPL-X body model '
                             '(model.head.body_model): the camera and, with the mesh, the '
                             'SMPL-X layer come from it')
        self.model = model
        self.with_mesh = with_mesh

    @property
    def output_names(self) -> List[str]:
        """Names of the graph outputs, in order."""
        return list(PARAM_OUTPUTS) + (list(MESH_OUTPUTS) if self.with_mesh else [])

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Outputs for (B, 3, 256, 192) crops in [0, 1], in :attr:`output_names` order."""
        head = self.model.head
        raw = head(self.model.extract_feat(img))
        out = head.decode(raw) if self.with_mesh else head.decode_params(raw)
        params = tuple(out[src] for src in PARAM_OUTPUTS.values())
        if not self.with_mesh:
            return params
        return params + (out['mesh_cam'], camera_frame_joints(out), out['joint_proj'])


@contextlib.contextmanager
def static_kinematic_tree(model: nn.Module) -> Iterator[None]:
    """Hold the ``parents`` buffers of ``smplx`` layers in ``model`` as numpy arrays.

    ``smplx.lbs.batch_rigid_transform`` does ``transform_chain[parents[i]]``; with a numpy
    tree that is a constant index that ``torch.export`` can trace. The buffers (and their
    persistence) are restored on exit.
    """
    swapped = []
    for module in model.modules():
        parents = module._buffers.get('parents')
        if parents is None or parents.dtype not in (torch.int32, torch.int64):
            continue
        persistent = 'parents' not in module._non_persistent_buffers_set
        del module._buffers['parents']
        module.parents = parents.detach().cpu().numpy()
        swapped.append((module, parents, persistent))
    try:
        yield
    finally:
        for module, parents, persistent in swapped:
            del module.parents
            module.register_buffer('parents', parents, persistent=persistent)


def export_onnx(model: nn.Module, path: str, with_mesh: bool = True,
                opset: int = DEFAULT_OPSET, external_data: Optional[bool] = None) -> str:
    """Export ``model`` to ``path`` (written atomically); the graph takes any batch size.

    Args:
        model: The estimator; it is put in eval mode and stays on its device.
        path: The ``.onnx`` file to write.
        with_mesh: Put the SMPL-X layer into the graph (see :class:`SMPLestXExportWrapper`).
        opset: ONNX opset.
        external_data: Keep the weights in ``<path>.data`` next to the graph. ``None``
            decides by size: above 1 GB of weights (ViT-L, ViT-H; protobuf cannot hold
            over 2 GB in one file).

    Returns:
        ``path``.
    """
    _require_onnx()
    import onnx

    model.eval()
    wrapper = SMPLestXExportWrapper(model, with_mesh=with_mesh).eval()
    device = next(model.parameters()).device
    # A batch of 2: torch.export would specialise an example batch of 1 to a fixed size.
    example = torch.rand(2, 3, *model.data_preprocessor.output_shape(), device=device)
    names = wrapper.output_names
    batch = torch.export.Dim('batch', min=1, max=4096)
    out_dir = osp.dirname(osp.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix='.onnx-export-') as tmp:
        traced = osp.join(tmp, 'traced.onnx')
        with torch.no_grad(), static_kinematic_tree(model), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # exporter chatter
            torch.onnx.export(wrapper, (example, ), traced, input_names=[INPUT_NAME],
                              output_names=names, dynamic_shapes={'img': {0: batch}},
                              opset_version=opset, dynamo=True, optimize=False,
                              verbose=False)
        # The exporter keeps the weights in a side file; load the graph without them.
        graph = onnx.load(traced, load_external_data=False)
        graph.doc_string = (f'SMPLest-X exported by smplestx: input {INPUT_NAME} (B, 3, '
                            f'{example.shape[2]}, {example.shape[3]}) RGB in [0, 1]; '
                            f'outputs {", ".join(names)}')
        side_files = {osp.join(tmp, name) for name in _external_locations(graph)}
        if external_data is None:
            external_data = sum(osp.getsize(f) for f in side_files) > _EXTERNAL_DATA_MIN_BYTES
        staged = osp.join(tmp, osp.basename(path))
        data_name = osp.basename(path) + '.data'
        if external_data and len(side_files) == 1:
            # Keep the exporter's weight file (no copy of gigabytes through memory).
            _set_external_location(graph, data_name)
            os.replace(side_files.pop(), osp.join(tmp, data_name))
            onnx.save_model(graph, staged)
        else:
            onnx.load_external_data_for_model(graph, tmp)
            if external_data:
                onnx.save_model(graph, staged, save_as_external_data=True,
                                all_tensors_to_one_file=True, location=data_name)
            else:
                onnx.save_model(graph, staged)
        onnx.checker.check_model(staged)
        # The weights first, the graph that names them last.
        if external_data:
            os.replace(osp.join(tmp, data_name), osp.join(out_dir, data_name))
        os.replace(staged, path)
    return path


def _graph_tensors(graph) -> Iterator:
    """Initializers and tensor-valued node attributes of a model's main graph."""
    yield from graph.graph.initializer
    for node in graph.graph.node:
        for attr in node.attribute:
            if attr.HasField('t'):
                yield attr.t
            yield from attr.tensors


def _external_locations(graph) -> List[str]:
    """The side files the tensors of ``graph`` are stored in."""
    from onnx.external_data_helper import uses_external_data

    found = {entry.value for tensor in _graph_tensors(graph) if uses_external_data(tensor)
             for entry in tensor.external_data if entry.key == 'location'}
    return sorted(found)


def _set_external_location(graph, location: str) -> None:
    """Point every external tensor of ``graph`` at the file ``location``."""
    from onnx.external_data_helper import uses_external_data

    for tensor in _graph_tensors(graph):
        if uses_external_data(tensor):
            for entry in tensor.external_data:
                if entry.key == 'location':
                    entry.value = location


def onnx_session(path: str, threads: Optional[int] = None, spinning: bool = True):
    """An ONNX Runtime CPU session for ``path``.

    Args:
        path: The exported ``.onnx`` file.
        threads: Intra-op threads (default: ONNX Runtime's choice).
        spinning: Let idle worker threads spin (ONNX Runtime's default). Turn it off when
            other work (e.g. PyTorch) shares the cores between runs.
    """
    _require_onnx()
    import onnxruntime as ort

    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such ONNX file')
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(session, img: np.ndarray) -> Dict[str, np.ndarray]:
    """Run an exported graph on (B, 3, 256, 192) float32 crops; outputs by name."""
    names = [out.name for out in session.get_outputs()]
    values = session.run(names, {INPUT_NAME: np.ascontiguousarray(img, dtype=np.float32)})
    return dict(zip(names, values))


def compare_with_pytorch(model: nn.Module, path: str,
                         batch_sizes: Sequence[int] = (1, 3),
                         seed: int = 0) -> Dict[str, Tuple[float, float]]:
    """Compare ONNX Runtime with PyTorch on random crops, output by output.

    Random crops of every batch size in ``batch_sizes`` go through both.

    Returns:
        Per output, ``(largest |onnxruntime - pytorch|, largest |pytorch|)`` over all
        batches: the difference and the scale it is to be judged against.
    """
    session = onnx_session(path)
    with_mesh = any(out.name == MESH_OUTPUTS[0] for out in session.get_outputs())
    wrapper = SMPLestXExportWrapper(model.eval(), with_mesh=with_mesh).eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    result: Dict[str, Tuple[float, float]] = {}
    for batch in batch_sizes:
        img = torch.rand(batch, 3, *model.data_preprocessor.output_shape(), generator=generator)
        with torch.no_grad():
            expected = wrapper(img.to(device))
        got = run_onnx(session, img.numpy())
        for name, value in zip(wrapper.output_names, expected):
            value = value.cpu().numpy()
            diff, scale = float(np.abs(got[name] - value).max()), float(np.abs(value).max())
            old_diff, old_scale = result.get(name, (0.0, 0.0))
            result[name] = (max(old_diff, diff), max(old_scale, scale))
    return result
