import numpy as np
import pytest
from mmengine.structures import InstanceData

from smplestx.registry import VISUALIZERS
from smplestx.structures import SMPLXDataSample
from smplestx.visualization import SMPLXVisualizer


def quad(z, size=0.2):
    verts = np.array([[-size, -size, z], [size, -size, z], [size, size, z], [-size, size, z]])
    return verts, np.array([[0, 2, 1], [0, 3, 2]])


@pytest.fixture
def visualizer():
    verts, faces = quad(2.0)
    vis = VISUALIZERS.build(dict(type='SMPLXVisualizer', name=f'vis-{id(verts)}', faces=faces))
    yield vis
    SMPLXVisualizer._instance_dict.pop(vis.instance_name, None)


def test_draw_people_renders_meshes_and_boxes(visualizer):
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    near, _ = quad(2.0)
    far = near + [0.1, 0.1, 1.0]
    people = [
        dict(vertices=far[None], focal=np.array([[100.0, 100.0]]), princpt=[20.0, 20.0]),
        dict(vertices=near, focal=[100.0, 100.0], princpt=[20.0, 20.0], bbox=[1, 1, 38, 38]),
    ]
    visualizer.mesh_colors = [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    out = visualizer.draw_people(image, people)
    assert out[20, 20, 2] > int(out[20, 20, 0]) + 100  # the near (blue) person wins
    assert (out[1, 5:30] == [0, 255, 0]).all()
    assert image.sum() == 0


def test_add_datasample_writes_file(visualizer, tmp_path):
    verts, _ = quad(2.0)
    sample = SMPLXDataSample(metainfo=dict(bbox=[2.0, 3.0, 30.0, 30.0]))
    sample.pred_instances = InstanceData(vertices=verts[None], focal=np.array([[100.0, 100.0]]),
                                         princpt=np.array([[20.0, 20.0]]))
    image = np.full((40, 40, 3), 50, dtype=np.uint8)
    out_file = tmp_path / 'vis' / 'x.png'
    drawn = visualizer.add_datasample('x', image, [sample], out_file=str(out_file))
    assert out_file.is_file() and drawn[20, 20].sum() > 150
    assert (drawn[3, 10] == [0, 255, 0]).all()  # metainfo box xywh -> xyxy


def test_missing_faces_or_camera_is_reported(visualizer):
    verts, _ = quad(2.0)
    with pytest.raises(ValueError, match='focal'):
        visualizer.draw_people(np.zeros((8, 8, 3), np.uint8), [dict(vertices=verts)])
    visualizer.faces = None
    with pytest.raises(ValueError, match='set_faces'):
        visualizer.draw_people(np.zeros((8, 8, 3), np.uint8),
                               [dict(vertices=verts, focal=[1, 1], princpt=[0, 0])])
