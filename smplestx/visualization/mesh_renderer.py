"""Headless mesh rendering: a vectorised numpy z-buffer rasterizer with Blinn-Phong shading.

No OpenGL, display or GPU is needed. Meshes are given in camera coordinates (OpenCV
axes: x right, y down, z forward, metres) with pinhole intrinsics in image pixels, and
are projected exactly as the official SMPLest-X demo projects its vertices::

    u = fx * X / Z + cx,    v = fy * Y / Z + cy

Integer pixel coordinates are pixel centres (the OpenCV convention). Several meshes share
one depth buffer, so people occlude each other correctly even when each person has its
own virtual camera (the demo gives every box its own focal length): depths are compared
as ``Z / f``, the depth the point would have in a camera with focal length 1 that sees it
at the same pixel.

The result is blended over the image like the official renderer: where a mesh covers a
pixel, ``out = alpha * render + (1 - alpha) * image`` with ``alpha = 0.8``, truncated to
uint8.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

ArrayLike = Union[np.ndarray, Sequence[float]]

#: Default mesh colour (the official material's base colour), in the image's channel order.
DEFAULT_COLOR = (0.7, 0.7, 0.7)
#: Fragments evaluated at once; bounds the memory of one rasterization chunk.
_CHUNK = 1 << 21
#: Pixels rendered at once by :func:`render_meshes` (image bands of about this size), so
#: that its buffers (about 130 bytes per pixel, some 35 MB a band) stay bounded whatever
#: the image size.
_TILE_PIXELS = 1 << 18
#: Barycentric tolerance: pixel centres on an edge belong to both faces (no cracks).
_EDGE_EPS = 1e-9


class Fragments(NamedTuple):
    """Per-pixel result of :func:`rasterize`.

    Attributes:
        mesh_id: (H, W) index of the visible mesh, -1 where nothing is drawn.
        face_id: (H, W) index of the visible face within its mesh, -1 where empty.
        bary: (H, W, 3) perspective-correct barycentric coordinates of the pixel centre.
        depth: (H, W) camera-frame depth Z of the visible point, ``inf`` where empty.
    """

    mesh_id: np.ndarray
    face_id: np.ndarray
    bary: np.ndarray
    depth: np.ndarray


def project_points(points: np.ndarray, focal: ArrayLike, princpt: ArrayLike) -> np.ndarray:
    """Project camera-frame points with a pinhole camera (the official demo's formula).

    Args:
        points: (..., 3) camera-frame points with positive depth.
        focal: (fx, fy) in pixels.
        princpt: (cx, cy) in pixels.

    Returns:
        (..., 2) pixel coordinates.
    """
    points = np.asarray(points, dtype=np.float64)
    focal = np.asarray(focal, dtype=np.float64)
    princpt = np.asarray(princpt, dtype=np.float64)
    return points[..., :2] / points[..., 2:3] * focal + princpt


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (outward for counter-clockwise faces)."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    norm = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(norm, 1e-12)


def _check_mesh(vertices: np.ndarray, faces: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f'mesh vertices must have shape (V, 3), got {vertices.shape}')
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'mesh faces must have shape (F, 3), got {faces.shape}')
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f'mesh face indices must lie in [0, {len(vertices)}), got '
                         f'[{faces.min()}, {faces.max()}]')
    return vertices, faces.astype(np.int64)


def _per_mesh(value: Optional[ArrayLike], count: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = np.broadcast_to(array, (count, array.shape[0]))
    if array.shape != (count, 2):
        raise ValueError(f'{name} must be (2,) or ({count}, 2) for {count} meshes, '
                         f'got {np.shape(value)}')
    return array


def rasterize(meshes: Sequence[Tuple[np.ndarray, np.ndarray]], focal: ArrayLike,
              princpt: ArrayLike, image_size: Tuple[int, int], znear: float = 0.05,
              cull_backfaces: bool = False,
              window: Optional[Tuple[int, int, int, int]] = None) -> Fragments:
    """Rasterize triangle meshes into one shared depth buffer.

    Args:
        meshes: ``(vertices (V, 3), faces (F, 3))`` per mesh, camera frame.
        focal: (fx, fy), or one row per mesh.
        princpt: (cx, cy), or one row per mesh.
        image_size: (H, W) of the image.
        znear: Faces with a vertex closer than this depth are skipped (no clipping).
        cull_backfaces: Skip faces whose front (counter-clockwise side) looks away.
        window: ``(y0, y1, x0, x1)``: rasterize only these rows and columns of the image
            (the fragments then have the window's size). Every pixel gets exactly what it
            gets when the whole image is rasterized.

    Returns:
        The visible mesh, face, barycentric coordinates and depth per pixel.
    """
    top, bottom, left, right = window or (0, int(image_size[0]), 0, int(image_size[1]))
    height, width = bottom - top, right - left
    focals = _per_mesh(focal, len(meshes), 'focal')
    princpts = _per_mesh(princpt, len(meshes), 'princpt')
    best = np.full(height * width, -np.inf)  # inverse normalised depth f / Z; larger is nearer
    mesh_id = np.full(height * width, -1, dtype=np.int64)
    face_id = np.full(height * width, -1, dtype=np.int64)
    lam = np.zeros((height * width, 3))
    depth = np.full(height * width, np.inf)
    for m, (vertices, faces) in enumerate(meshes):
        vertices, faces = _check_mesh(vertices, faces)
        z = vertices[:, 2]
        uv = project_points(np.where(z[:, None] > 0, vertices, 1.0), focals[m], princpts[m])
        scale = float(np.sqrt(focals[m, 0] * focals[m, 1]))
        tri_uv, tri_z = uv[faces], z[faces]
        ok = (tri_z > znear).all(1)
        x0, y0 = tri_uv[:, 0, 0], tri_uv[:, 0, 1]
        e1, e2 = tri_uv[:, 1] - tri_uv[:, 0], tri_uv[:, 2] - tri_uv[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        ok &= np.abs(area) > 1e-12
        if cull_backfaces:
            ok &= area < 0  # a face whose normal points at the camera has negative pixel area
        xmin = np.maximum(np.ceil(tri_uv[..., 0].min(1)), left)
        xmax = np.minimum(np.floor(tri_uv[..., 0].max(1)), right - 1)
        ymin = np.maximum(np.ceil(tri_uv[..., 1].min(1)), top)
        ymax = np.minimum(np.floor(tri_uv[..., 1].max(1)), bottom - 1)
        ok &= (xmax >= xmin) & (ymax >= ymin)
        idx = np.nonzero(ok)[0]
        if not len(idx):
            continue
        bw = (xmax[idx] - xmin[idx] + 1).astype(np.int64)
        count = bw * (ymax[idx] - ymin[idx] + 1).astype(np.int64)
        inv = 1.0 / area[idx]
        xmin_i, ymin_i, x0_i, y0_i = xmin[idx], ymin[idx], x0[idx], y0[idx]
        ends = np.cumsum(count)
        start = 0
        while start < len(idx):
            stop = int(np.searchsorted(ends, ends[start] - count[start] + _CHUNK, 'right'))
            stop = max(stop, start + 1)
            sel = slice(start, stop)
            reps = count[sel]
            total = int(reps.sum())
            local = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
            f = np.repeat(np.arange(start, stop), reps)
            px = xmin_i[f] + local % bw[f]
            py = ymin_i[f] + local // bw[f]
            dx, dy = px - x0_i[f], py - y0_i[f]
            fi = idx[f]
            l1 = (dx * e2[fi, 1] - dy * e2[fi, 0]) * inv[f]
            l2 = (dy * e1[fi, 0] - dx * e1[fi, 1]) * inv[f]
            l0 = 1.0 - l1 - l2
            inside = (l0 >= -_EDGE_EPS) & (l1 >= -_EDGE_EPS) & (l2 >= -_EDGE_EPS)
            l0, l1, l2, fi = l0[inside], l1[inside], l2[inside], fi[inside]
            pix = ((py[inside] - top) * width + px[inside] - left).astype(np.int64)
            zf = tri_z[fi]
            inv_z = l0 / zf[:, 0] + l1 / zf[:, 1] + l2 / zf[:, 2]
            key = inv_z * scale
            order = np.lexsort((-key, pix))
            pix_sorted = pix[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = pix_sorted[1:] != pix_sorted[:-1]
            win = order[first]
            pix_w = pix[win]
            better = key[win] > best[pix_w]
            win, pix_w = win[better], pix_w[better]
            best[pix_w] = key[win]
            mesh_id[pix_w] = m
            face_id[pix_w] = fi[win]
            screen = np.stack([l0[win], l1[win], l2[win]], 1)
            persp = screen / zf[win]
            lam[pix_w] = persp / persp.sum(1, keepdims=True)
            depth[pix_w] = 1.0 / inv_z[win]
            start = stop
    return Fragments(mesh_id.reshape(height, width), face_id.reshape(height, width),
                     lam.reshape(height, width, 3), depth.reshape(height, width))


def shade(fragments: Fragments, meshes: Sequence[Tuple[np.ndarray, np.ndarray]],
          colors: Optional[Sequence[ArrayLike]] = None, ambient: float = 0.3,
          diffuse: float = 0.75, specular: float = 0.2, shininess: float = 30.0,
          normals: Optional[Sequence[np.ndarray]] = None) -> np.ndarray:
    """Blinn-Phong shading with a directional light at the camera (like the official demo).

    Both sides of a face are lit, so open meshes look right from behind.

    Args:
        fragments: Output of :func:`rasterize` for the same meshes.
        meshes: ``(vertices, faces)`` per mesh, camera frame.
        colors: Base colour per mesh in [0, 1] (image channel order). Grey by default.
        ambient: Ambient term.
        diffuse: Lambert weight.
        specular: Blinn specular weight (white).
        shininess: Blinn exponent.
        normals: :func:`vertex_normals` of each mesh, when already computed.

    Returns:
        (H, W, 3) float32 colours in [0, 1]; zero where no mesh is visible.
    """
    height, width = fragments.mesh_id.shape
    out = np.zeros((height, width, 3), dtype=np.float32)
    for m, (vertices, faces) in enumerate(meshes):
        vertices, faces = _check_mesh(vertices, faces)
        mask = fragments.mesh_id == m
        if not mask.any():
            continue
        base = np.asarray(colors[m] if colors is not None else DEFAULT_COLOR, dtype=np.float64)
        tri = faces[fragments.face_id[mask]]
        bary = fragments.bary[mask][..., None]
        vn = normals[m] if normals is not None else vertex_normals(vertices, faces)
        n = (vn[tri] * bary).sum(1)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        pos = (vertices[tri] * bary).sum(1)
        view = -pos / np.maximum(np.linalg.norm(pos, axis=1, keepdims=True), 1e-12)
        n *= np.where((n * view).sum(1, keepdims=True) < 0, -1.0, 1.0)
        light = np.array([0.0, 0.0, -1.0])
        lambert = np.clip(n @ light, 0, None)
        half = view + light
        half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
        spec = np.clip((n * half).sum(1), 0, None)**shininess
        rgb = base * (ambient + diffuse * lambert)[:, None] + specular * spec[:, None]
        out[mask] = np.clip(rgb, 0, 1)
    return out


def render_meshes(image: np.ndarray, meshes: Sequence[Tuple[np.ndarray, np.ndarray]],
                  focal: ArrayLike, princpt: ArrayLike,
                  colors: Optional[Sequence[ArrayLike]] = None, alpha: float = 0.8,
                  **shading) -> np.ndarray:
    """Render meshes over an image with a shared depth buffer and alpha blending.

    Args:
        image: (H, W, 3) uint8 image (any channel order; ``colors`` use the same one).
        meshes: ``(vertices (V, 3), faces (F, 3))`` per mesh, camera frame, metres.
        focal: (fx, fy) in pixels, or one row per mesh.
        princpt: (cx, cy) in pixels, or one row per mesh.
        colors: Base colour per mesh in [0, 1]; grey by default.
        alpha: Opacity of the render where a mesh covers a pixel.
        **shading: Extra arguments of :func:`shade`.

    Returns:
        A new (H, W, 3) uint8 image.

    Raises:
        ValueError: If the image is not an (H, W, 3) array.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must have shape (H, W, 3), got {image.shape}')
    if not len(meshes):
        return image.astype(np.uint8, copy=True)
    height, width = image.shape[:2]
    checked = [_check_mesh(v, f) for v, f in meshes]
    normals = [vertex_normals(v, f) for v, f in checked]
    out = np.empty(image.shape, dtype=np.uint8)
    rows = max(1, _TILE_PIXELS // max(width, 1))
    for y0 in range(0, height, rows):  # bands: memory bounded whatever the image size
        y1 = min(height, y0 + rows)
        fragments = rasterize(checked, focal, princpt, (height, width),
                              window=(y0, y1, 0, width))
        color = shade(fragments, checked, colors, normals=normals, **shading)
        mask = (fragments.mesh_id >= 0)[..., None].astype(np.float32) * alpha
        band = color * mask + (1 - mask) * (image[y0:y1].astype(np.float32) / 255)
        out[y0:y1] = (band * 255).astype(np.uint8)
    return out


class MeshRenderer:
    """Renders meshes that share one topology (e.g. SMPL-X) over images.

    Args:
        faces: (F, 3) triangle indices shared by every mesh.
        alpha: Opacity of the render where a mesh covers a pixel.
        colors: Colours cycled over the meshes, in [0, 1] and image channel order.
    """

    def __init__(self, faces: np.ndarray, alpha: float = 0.8,
                 colors: Sequence[ArrayLike] = (DEFAULT_COLOR, )) -> None:
        self.faces = np.asarray(faces, dtype=np.int64)
        self.alpha = alpha
        self.colors = [tuple(float(c) for c in color) for color in colors]

    def __call__(self, image: np.ndarray, vertices: Sequence[np.ndarray], focal: ArrayLike,
                 princpt: ArrayLike) -> np.ndarray:
        """Render one mesh per entry of ``vertices`` (camera frame) over ``image``."""
        meshes = [(np.asarray(v), self.faces) for v in vertices]
        colors = [self.colors[i % len(self.colors)] for i in range(len(meshes))]
        return render_meshes(image, meshes, focal, princpt, colors=colors, alpha=self.alpha)


def draw_keypoints(image: np.ndarray, keypoints: np.ndarray, color: Tuple[int, int, int] = (
        0, 0, 255), radius: int = 2, alpha: float = 1.0,
                   visible: Optional[np.ndarray] = None) -> np.ndarray:
    """Draw 2D keypoints as filled circles.

    Args:
        image: (H, W, 3) uint8 image.
        keypoints: (K, 2) pixel coordinates.
        color: Circle colour in the image's channel order.
        radius: Circle radius in pixels.
        alpha: Opacity of the drawing.
        visible: Optional (K,) boolean mask of points to draw.

    Returns:
        A new uint8 image.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    canvas = np.ascontiguousarray(image, dtype=np.uint8).copy()
    height, width = np.shape(image)[:2]
    keep = np.isfinite(keypoints).all(1)
    keep &= (np.abs(keypoints[:, 0] - width / 2) < width + radius) & (
        np.abs(keypoints[:, 1] - height / 2) < height + radius)  # OpenCV takes 32-bit ints
    if visible is not None:
        keep &= np.asarray(visible, dtype=bool).reshape(-1)
    for x, y in np.round(keypoints[keep]).astype(np.int64):
        cv2.circle(canvas, (int(x), int(y)), radius, tuple(int(c) for c in color), -1,
                   cv2.LINE_AA)
    return _blend(image, canvas, alpha)


def draw_bbox(image: np.ndarray, bbox: ArrayLike, color: Tuple[int, int, int] = (0, 255, 0),
              thickness: int = 1, label: Optional[str] = None, alpha: float = 1.0) -> np.ndarray:
    """Draw an ``[x1, y1, x2, y2]`` box, with an optional text label above it.

    Coordinates far outside the image (e.g. ``1e10``) are clipped first: OpenCV takes
    32-bit pixel positions.

    Args:
        image: (H, W, 3) uint8 image.
        bbox: Box corners in pixels.
        color: Line colour in the image's channel order.
        thickness: Line thickness in pixels.
        label: Optional text drawn at the top-left corner.
        alpha: Opacity of the drawing.

    Returns:
        A new uint8 image.
    """
    box = np.asarray(bbox, dtype=np.float64).reshape(-1)[:4]
    if not np.isfinite(box).all():
        return np.ascontiguousarray(image, dtype=np.uint8).copy()
    height, width = np.shape(image)[:2]
    margin = thickness + 1  # an edge outside the image stays outside: nothing is drawn
    box[0::2] = np.clip(box[0::2], -margin, width + margin)
    box[1::2] = np.clip(box[1::2], -margin, height + margin)
    x1, y1, x2, y2 = (int(v) for v in box)
    canvas = np.ascontiguousarray(image, dtype=np.uint8).copy()
    color = tuple(int(c) for c in color)
    cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)
    if label:
        cv2.putText(canvas, label, (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color,
                    1, cv2.LINE_AA)
    return _blend(image, canvas, alpha)


def _blend(image: np.ndarray, canvas: np.ndarray, alpha: float) -> np.ndarray:
    if alpha >= 1.0:
        return canvas
    out = canvas.astype(np.float32) * alpha + np.asarray(image, np.float32) * (1 - alpha)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def mesh_to_common_camera(vertices: np.ndarray, focal: ArrayLike, princpt: ArrayLike,
                          common_focal: float, common_princpt: ArrayLike) -> np.ndarray:
    """Re-express a mesh seen by its own camera in a shared camera, keeping its pixels.

    Every vertex keeps its pixel position: it is scaled along its viewing ray so that
    its depth becomes ``Z * common_focal / f`` and shifted for the principal point.
    This is what the shared depth buffer of :func:`rasterize` compares, exposed for
    users who want one camera for all people (e.g. to export a scene).

    Args:
        vertices: (V, 3) camera-frame vertices of the mesh's own camera.
        focal: The mesh's (fx, fy).
        princpt: The mesh's (cx, cy).
        common_focal: Focal length of the shared camera (square pixels).
        common_princpt: (cx, cy) of the shared camera.

    Returns:
        (V, 3) vertices in the shared camera.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    uv = project_points(vertices, focal, princpt)
    f = float(np.sqrt(np.prod(np.asarray(focal, dtype=np.float64))))
    z = vertices[:, 2] * common_focal / f
    xy = (uv - np.asarray(common_princpt, dtype=np.float64)) * z[:, None] / common_focal
    return np.concatenate([xy, z[:, None]], 1)


__all__: List[str] = [
    'DEFAULT_COLOR', 'Fragments', 'MeshRenderer', 'draw_bbox', 'draw_keypoints',
    'mesh_to_common_camera', 'project_points', 'rasterize', 'render_meshes', 'shade',
    'vertex_normals'
]
