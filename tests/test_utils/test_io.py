import json
import os

import numpy as np
import pytest

from smplestx.utils.io import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_image,
    atomic_write_json,
    atomic_write_npz,
    atomic_write_text,
    npz_bytes,
    obj_text,
    save_obj,
)


def leftovers(folder):
    return sorted(p for p in os.listdir(folder) if p.startswith('.'))


def test_writers_round_trip(tmp_path):
    atomic_write_bytes(tmp_path / 'a.bin', b'\x00\x01')
    atomic_write_text(tmp_path / 'sub' / 'b.txt', 'héllo')
    atomic_write_json(tmp_path / 'c.json', {'x': np.float32(1.5), 'y': np.arange(3)})
    atomic_write_npz(tmp_path / 'd.npz', {'p': np.eye(2, dtype=np.float32), 'q': np.int64(3)})
    assert (tmp_path / 'a.bin').read_bytes() == b'\x00\x01'
    assert (tmp_path / 'sub' / 'b.txt').read_text(encoding='utf-8') == 'héllo'
    assert json.loads((tmp_path / 'c.json').read_text()) == {'x': 1.5, 'y': [0, 1, 2]}
    with np.load(tmp_path / 'd.npz') as data:
        np.testing.assert_array_equal(data['p'], np.eye(2))
        assert data['p'].dtype == np.float32 and int(data['q']) == 3
    assert leftovers(tmp_path) == [] and oct((tmp_path / 'a.bin').stat().st_mode)[-3:] == '644'


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / 'out.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_open(path, 'w') as handle:
            handle.write('partial new content')
            raise RuntimeError('boom')
    assert path.read_text() == 'old'
    assert leftovers(tmp_path) == []


def test_unserialisable_json_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match='not JSON serialisable'):
        atomic_write_json(tmp_path / 'x.json', {'bad': object()})
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / 'x.json', {'nan': float('nan')})
    assert os.listdir(tmp_path) == []


def test_npz_is_deterministic_and_refuses_objects(tmp_path):
    arrays = {'a': np.arange(10, dtype=np.float32), 'b': np.ones((2, 3))}
    assert npz_bytes(arrays) == npz_bytes(arrays)
    assert npz_bytes(arrays, compress=False) != npz_bytes(arrays)
    with pytest.raises(ValueError, match="'o' has dtype object"):
        atomic_write_npz(tmp_path / 'o.npz', {'o': np.array([{}], dtype=object)})
    assert os.listdir(tmp_path) == []


def test_obj_text_and_save_obj(tmp_path):
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0.5]])
    faces = np.array([[0, 1, 2]])
    assert obj_text(verts, faces).splitlines() == [
        'v 0.000000 0.000000 0.000000', 'v 1.000000 0.000000 0.000000',
        'v 0.000000 1.000000 0.500000', 'f 1 2 3']
    save_obj(tmp_path / 'm.obj', verts, faces)
    assert (tmp_path / 'm.obj').read_text() == obj_text(verts, faces)
    with pytest.raises(ValueError, match='face indices'):
        save_obj(tmp_path / 'bad.obj', verts, faces + 1)
    with pytest.raises(ValueError, match=r'vertices must have shape \(V, 3\)'):
        obj_text(verts[:, :2], faces)
    assert not (tmp_path / 'bad.obj').exists() and leftovers(tmp_path) == []


def test_atomic_path_for_third_party_writers(tmp_path):
    with atomic_path(tmp_path / 'v.mp4') as tmp:
        assert tmp.endswith('.mp4') and os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, 'wb') as handle:
            handle.write(b'data')
    assert (tmp_path / 'v.mp4').read_bytes() == b'data'
    with pytest.raises(FileNotFoundError, match='nothing was written'):
        with atomic_path(tmp_path / 'empty.mp4'):
            pass
    assert sorted(os.listdir(tmp_path)) == ['v.mp4']


def test_atomic_write_image(tmp_path):
    import cv2

    image = np.zeros((4, 5, 3), dtype=np.uint8)
    image[1, 2] = (10, 20, 30)
    atomic_write_image(tmp_path / 'i.png', image)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'i.png')), image)
    with pytest.raises(ValueError, match='could not encode'):
        atomic_write_image(tmp_path / 'i.unknown-ext', image)
    assert sorted(os.listdir(tmp_path)) == ['i.png']


def test_bad_mode():
    with pytest.raises(ValueError, match='mode must be'):
        with atomic_open('x', 'a'):
            pass


def test_check_writable_names_the_obstacle(tmp_path):
    from smplestx.utils.io import OutputPathError, check_writable

    regular = tmp_path / 'file'
    regular.write_text('x')
    check_writable(tmp_path / 'new' / 'deeper' / 'out.pkl')  # creatable: fine, nothing made
    check_writable(tmp_path / 'new' / 'work_dir', folder=True)
    assert not (tmp_path / 'new').exists()
    with pytest.raises(OutputPathError, match=f'cannot write {regular}/a/out.pkl: {regular} is '
                       f'a file, not a folder'):
        check_writable(regular / 'a' / 'out.pkl')
    with pytest.raises(OutputPathError, match=f'cannot write into {regular}: it is a file'):
        check_writable(regular, folder=True)
    with pytest.raises(OutputPathError, match=f'cannot write {tmp_path}: it is a folder'):
        check_writable(tmp_path)
