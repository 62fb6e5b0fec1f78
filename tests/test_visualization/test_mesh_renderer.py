
import numpy as np
import pytest

from smplestx.visualization import (
    MeshRenderer,
    draw_bbox,
    draw_keypoints,
    mesh_to_common_camera,
    project_points,
    rasterize,
    render_meshes,
)

FOCAL, PRINCPT = (100.0, 100.0), (10.0, 10.0)


def unproject(uv, z, focal=FOCAL, princpt=PRINCPT):
    uv = np.asarray(uv, dtype=np.float64)
    xy = (uv - np.asarray(princpt)) * z / np.asarray(focal)
    return np.concatenate([xy, np.full((len(uv), 1), z)], 1)


def square(x0, y0, x1, y1, z, focal=FOCAL, princpt=PRINCPT):
    verts = unproject([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], z, focal, princpt)
    return verts, np.array([[0, 2, 1], [0, 3, 2]])


def test_triangle_covers_exactly_the_pixel_centres_inside():
    verts = unproject([(2, 2), (12, 2), (2, 12)], 2.0)
    frags = rasterize([(verts, np.array([[0, 1, 2]]))], FOCAL, PRINCPT, (20, 20))
    ys, xs = np.mgrid[:20, :20]
    expected = (xs >= 2) & (ys >= 2) & (xs + ys <= 14)
    np.testing.assert_array_equal(frags.mesh_id >= 0, expected)
    np.testing.assert_array_equal(frags.face_id[expected], 0)
    np.testing.assert_allclose(frags.depth[expected], 2.0)
    assert np.isinf(frags.depth[~expected]).all()
    np.testing.assert_allclose(frags.bary[expected].sum(-1), 1.0)
    # Vertex 1 sits at pixel (12, 2): all its weight there.
    np.testing.assert_allclose(frags.bary[2, 12], [0, 1, 0], atol=1e-12)


def test_perspective_correct_depth_on_a_slanted_triangle():
    verts = np.array([[-1.0, -1.0, 2.0], [1.0, -1.0, 4.0], [-1.0, 1.0, 2.0]])
    frags = rasterize([(verts, np.array([[0, 1, 2]]))], FOCAL, PRINCPT, (40, 40))
    covered = np.argwhere(frags.mesh_id >= 0)
    assert len(covered) > 50
    for y, x in covered[:: max(len(covered) // 20, 1)]:
        b = frags.bary[y, x]
        point = b @ verts
        np.testing.assert_allclose(project_points(point, FOCAL, PRINCPT), [x, y], atol=1e-9)
        np.testing.assert_allclose(frags.depth[y, x], point[2], rtol=1e-9)


def test_nearer_mesh_wins_in_any_order():
    near = square(2, 2, 12, 12, z=2.0)
    far = square(6, 6, 18, 18, z=3.0)
    for meshes, near_id in (([near, far], 0), ([far, near], 1)):
        frags = rasterize(meshes, FOCAL, PRINCPT, (20, 20))
        assert (frags.mesh_id[2:13, 2:13] == near_id).all()
        assert (frags.mesh_id[13:19, 13:19] == 1 - near_id).all()
        np.testing.assert_allclose(frags.depth[8, 8], 2.0)


def test_occlusion_between_people_with_their_own_cameras():
    # Person A: focal 100 at depth 2 (normalised depth 0.02); person B: focal 400 at depth 4
    # (normalised depth 0.01), so B is nearer although its metric depth is larger.
    a = square(2, 2, 12, 12, z=2.0)
    b = square(6, 6, 18, 18, z=4.0, focal=(400, 400))
    frags = rasterize([a, b], [FOCAL, (400, 400)], [PRINCPT, PRINCPT], (20, 20))
    assert (frags.mesh_id[6:19, 6:19] == 1).all()
    assert (frags.mesh_id[2:6, 2:13] == 0).all()
    np.testing.assert_allclose(frags.depth[8, 8], 4.0)


def test_backface_culling_uses_outward_normals():
    verts, faces = square(2, 2, 12, 12, z=2.0)
    tri = verts[faces[0]]
    normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
    assert normal[2] < 0  # faces the camera
    assert (rasterize([(verts, faces)], FOCAL, PRINCPT, (20, 20), cull_backfaces=True)
            .mesh_id >= 0).sum() == 121
    flipped = faces[:, ::-1]
    assert (rasterize([(verts, flipped)], FOCAL, PRINCPT, (20, 20), cull_backfaces=True)
            .mesh_id >= 0).sum() == 0
    assert (rasterize([(verts, flipped)], FOCAL, PRINCPT, (20, 20)).mesh_id >= 0).sum() == 121


def test_faces_behind_znear_are_skipped():
    verts = unproject([(2, 2), (12, 2), (2, 12)], 0.01)
    frags = rasterize([(verts, np.array([[0, 1, 2]]))], FOCAL, PRINCPT, (20, 20))
    assert (frags.mesh_id < 0).all()


def test_render_blends_like_the_official_demo():
    image = np.full((20, 20, 3), 100, dtype=np.uint8)
    verts, faces = square(2, 2, 12, 12, z=2.0)
    out = render_meshes(image, [(verts, faces)], FOCAL, PRINCPT, colors=[(1.0, 1.0, 1.0)],
                        ambient=1.0, diffuse=0.0, specular=0.0)
    expected = int((1.0 * 0.8 + 0.2 * 100 / 255) * 255)
    assert (out[2:13, 2:13] == expected).all()
    untouched = np.ones((20, 20), bool)
    untouched[2:13, 2:13] = False
    assert (out[untouched] == 100).all()
    assert out.dtype == np.uint8 and image[0, 0, 0] == 100


def test_lambert_shading_is_brightest_facing_the_light():
    verts, faces = square(2, 2, 12, 12, z=2.0)
    tilt = verts.copy()
    tilt[:, 2] += tilt[:, 0] * 2.0  # turn the square away from the camera
    image = np.zeros((20, 20, 3), dtype=np.uint8)
    kw = dict(colors=[(1.0, 1.0, 1.0)], alpha=1.0, specular=0.0)
    flat = render_meshes(image, [(verts, faces)], FOCAL, PRINCPT, **kw)
    turned = render_meshes(image, [(tilt, faces)], FOCAL, PRINCPT, **kw)
    assert flat[7, 7, 0] > turned[7, 7, 0] > 0


def test_projection_matches_the_official_formula(official_io):
    joints = (official_io['helpers/get_coord/output/joint_cam_wo_ra']
              + official_io['helpers/get_coord/output/root_cam'])
    # The model projects with Z + 1e-4 onto the 192x256 body crop, then scales to 12x16.
    heatmap = project_points(joints + [0, 0, 1e-4], (5000, 5000), (96, 128)) * [12 / 192, 16 / 256]
    np.testing.assert_allclose(heatmap, official_io['helpers/get_coord/output/joint_proj'],
                               rtol=1e-5, atol=1e-4)


def test_official_mesh_lands_in_its_box_through_the_demo_camera(official_io, body_model_path):
    mesh = official_io['test/out/smplx_mesh_cam'][0].astype(np.float64)
    with np.load(body_model_path / 'smplx' / 'SMPLX_NEUTRAL.npz') as model:
        faces = model['f'].astype(np.int64)
    bx, by, bw, bh = 40.0, 30.0, 300.0, 400.0  # a processed box: aspect 0.75
    focal = (5000 / 192 * bw, 5000 / 256 * bh)
    princpt = (bx + bw / 2, by + bh / 2)
    uv = project_points(mesh, focal, princpt)
    frags = rasterize([(mesh, faces)], focal, princpt, (500, 400))
    ys, xs = np.nonzero(frags.mesh_id >= 0)
    used = uv[np.unique(faces)]
    inside = (used[:, 0] >= 0) & (used[:, 0] < 400) & (used[:, 1] >= 0) & (used[:, 1] < 500)
    assert inside.all()
    # The silhouette spans the projected vertices (thin fingertips may miss a pixel centre).
    assert abs(xs.min() - used[:, 0].min()) <= 2 and abs(xs.max() - used[:, 0].max()) <= 2
    assert abs(ys.min() - used[:, 1].min()) <= 2 and abs(ys.max() - used[:, 1].max()) <= 2
    # The heatmap-unit joints map to the same pixels: u = x_hm * bw / 12 + bx.
    joints = (official_io['helpers/get_coord/output/joint_cam_wo_ra'][0]
              + official_io['helpers/get_coord/output/root_cam'][0])
    hm = official_io['helpers/get_coord/output/joint_proj'][0]
    np.testing.assert_allclose(project_points(joints, focal, princpt),
                               hm * [bw / 12, bh / 16] + [bx, by], atol=0.02)


def test_common_camera_keeps_pixels_and_scales_depth():
    rng = np.random.default_rng(0)
    verts = rng.uniform([-0.5, -0.5, 8], [0.5, 0.5, 10], size=(50, 3))
    moved = mesh_to_common_camera(verts, (800, 800), (200, 150), 400, (320, 240))
    np.testing.assert_allclose(project_points(moved, (400, 400), (320, 240)),
                               project_points(verts, (800, 800), (200, 150)), atol=1e-9)
    np.testing.assert_allclose(moved[:, 2], verts[:, 2] / 2)


def test_renderer_draws_a_smplx_sized_mesh():
    # A 10k-vertex, 20k-face closed sphere filling much of a 640x480 image (its speed is
    # measured by tools/analysis_tools/benchmark_demo.py --render, not here).
    rings, segs = 100, 104
    theta = np.linspace(0, np.pi, rings + 2)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segs, endpoint=False)
    verts = np.stack([np.outer(np.sin(theta), np.cos(phi)), np.outer(np.cos(theta),
                      np.ones(segs)), np.outer(np.sin(theta), np.sin(phi))], -1).reshape(-1, 3)
    faces = []
    for r in range(rings - 1):
        a = r * segs + np.arange(segs)
        b = r * segs + (np.arange(segs) + 1) % segs
        faces += [np.stack([a, b, b + segs], 1), np.stack([a, b + segs, a + segs], 1)]
    faces = np.concatenate(faces)
    assert len(verts) >= 10000 and len(faces) >= 20000
    verts = verts * [0.8, 0.8, 0.8] + [0, 0, 2.5]
    renderer = MeshRenderer(faces)
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    out = renderer(image, [verts], (600, 600), (320, 240))
    assert (out.sum(-1) > 0).mean() > 0.25
    np.testing.assert_array_equal(renderer(image, [verts], (600, 600), (320, 240)), out)


def test_draw_helpers():
    image = np.zeros((20, 20, 3), dtype=np.uint8)
    dots = draw_keypoints(image, np.array([[5, 5], [15, 15], [np.nan, 3]]), (0, 0, 255), 1)
    assert (dots[5, 5] == [0, 0, 255]).all() and (dots[15, 15] == [0, 0, 255]).all()
    assert dots[10, 10].sum() == 0 and image.sum() == 0
    hidden = draw_keypoints(image, np.array([[5, 5]]), visible=np.array([False]))
    assert hidden.sum() == 0
    box = draw_bbox(image, [2, 3, 12, 14], (0, 255, 0))
    assert (box[3, 2:13] == [0, 255, 0]).all() and (box[14, 2:13] == [0, 255, 0]).all()
    assert (box[3:15, 2] == [0, 255, 0]).all() and box[8, 8].sum() == 0
    half = draw_bbox(image, [2, 3, 12, 14], (0, 200, 0), alpha=0.5)
    assert half[3, 5, 1] == 100


def test_bad_inputs_raise_clear_errors():
    verts, faces = square(2, 2, 12, 12, z=2.0)
    with pytest.raises(ValueError, match='vertices must have shape'):
        rasterize([(verts[:, :2], faces)], FOCAL, PRINCPT, (20, 20))
    with pytest.raises(ValueError, match='face indices'):
        rasterize([(verts, faces + 10)], FOCAL, PRINCPT, (20, 20))
    with pytest.raises(ValueError, match='focal must be'):
        rasterize([(verts, faces)] * 2, np.ones((3, 2)), PRINCPT, (20, 20))
    with pytest.raises(ValueError, match='image must have shape'):
        render_meshes(np.zeros((20, 20)), [(verts, faces)], FOCAL, PRINCPT)
