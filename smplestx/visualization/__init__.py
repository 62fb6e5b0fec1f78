"""Visualization: the headless mesh renderer and the SMPL-X visualizer."""

from smplestx.visualization.mesh_renderer import (
                                                  DEFAULT_COLOR,
                                                  Fragments,
                                                  MeshRenderer,
                                                  draw_bbox,
                                                  draw_keypoints,
                                                  mesh_to_common_camera,
                                                  project_points,
                                                  rasterize,
                                                  render_meshes,
                                                  shade,
                                                  vertex_normals,
)
from smplestx.visualization.smplx_visualizer import SMPLXVisualizer

__all__ = [
    'DEFAULT_COLOR', 'Fragments', 'MeshRenderer', 'SMPLXVisualizer', 'draw_bbox',
    'draw_keypoints', 'mesh_to_common_camera', 'project_points', 'rasterize', 'render_meshes',
    'shade', 'vertex_normals'
]
