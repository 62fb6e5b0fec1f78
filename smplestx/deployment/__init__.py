"""Model export for deployment (ONNX)."""

from .onnx_export import (
    INPUT_NAME,
    MESH_OUTPUTS,
    PARAM_OUTPUTS,
    SMPLestXExportWrapper,
    compare_with_pytorch,
    export_onnx,
    onnx_session,
    run_onnx,
)

__all__ = [
    'INPUT_NAME', 'MESH_OUTPUTS', 'PARAM_OUTPUTS', 'SMPLestXExportWrapper',
    'compare_with_pytorch', 'export_onnx', 'onnx_session', 'run_onnx'
]
