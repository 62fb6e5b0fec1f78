"""Done markers and leftover cleaning of the demo's writer (the demo tests run it whole)."""

import json

from smplestx.evaluation.metrics.inference_writer import (
    PARTS_DIR,
    clear_outputs,
    input_done,
    listed_files,
    part_done,
    part_path,
    reset_input,
)

SETTINGS = {'render': True, 'boxes': 'whole_image', 'min_box_size': (16, 32)}


def _index(frames, **extra):
    return dict(format='smplestx-demo-results', settings=json.loads(json.dumps(SETTINGS)),
                input_fingerprint='f1', frames=frames, **extra)


def _frame(name, people=1):
    return dict(name=name, vis=f'vis/{name}.jpg', people=[
        dict(params=f'smplx/{name}_{p:02d}.npz', mesh=None) for p in range(people)])


def _touch(root, *rels):
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b'x')


def test_an_input_is_done_only_when_its_index_matches_and_its_files_exist(tmp_path):
    index = _index([_frame('a', 2)], video='clip.mp4',
                   tracks=[dict(file='tracks/track_0000.npz')],
                   animation=['animation/track_0000.glb'])
    assert listed_files(index) == ['clip.mp4', 'vis/a.jpg', 'smplx/a_00.npz', 'smplx/a_01.npz',
                                   'tracks/track_0000.npz', 'animation/track_0000.glb']
    _touch(tmp_path, *listed_files(index))
    (tmp_path / 'index.json').write_text(json.dumps(index))
    assert input_done(str(tmp_path), SETTINGS, 'f1')
    assert not input_done(str(tmp_path), dict(SETTINGS, render=False), 'f1')
    assert not input_done(str(tmp_path), SETTINGS, 'changed input')
    (tmp_path / 'animation' / 'track_0000.glb').unlink()
    assert not input_done(str(tmp_path), SETTINGS, 'f1')
    _touch(tmp_path, 'animation/track_0000.glb')
    (tmp_path / 'smplx' / 'a_01.npz').unlink()
    assert not input_done(str(tmp_path), SETTINGS, 'f1')
    (tmp_path / 'index.json').write_text('{"format": "smplestx-demo-res')  # cut short
    assert not input_done(str(tmp_path), SETTINGS, 'f1')
    reset_input(str(tmp_path))
    assert not (tmp_path / 'index.json').exists()


def test_parts_are_done_for_their_own_range(tmp_path):
    _touch(tmp_path, 'vis/a.jpg', 'smplx/a_00.npz')
    path = part_path(str(tmp_path), 3)
    (tmp_path / PARTS_DIR).mkdir()
    with open(path, 'w') as f:
        json.dump(_index([_frame('a')], first=6, stop=8), f)
    assert part_done(str(tmp_path), 3, 6, 8, SETTINGS, 'f1')
    assert not part_done(str(tmp_path), 3, 6, 9, SETTINGS, 'f1')  # another part size
    assert not part_done(str(tmp_path), 4, 8, 10, SETTINGS, 'f1')
    reset_input(str(tmp_path), parts=True)
    assert not (tmp_path / PARTS_DIR).exists()


def test_clear_outputs_removes_the_writers_files_only(tmp_path):
    _touch(tmp_path, 'index.json', 'clip.mp4', '.clip.mp4.ab12cd.mp4', '.index.json.x.tmp',
           'smplx/a_00.npz', 'smplx/old_00.npz', 'vis/a.jpg', 'mesh/a_00.obj',
           'frames/000000.jpg', f'{PARTS_DIR}/part_000000.json', 'notes.txt', 'mine/keep.png')
    clear_outputs(str(tmp_path), keep=['index.json', 'smplx/a_00.npz', 'vis/a.jpg'])
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob('*')
                  if p.is_file())
    # Keeping the index keeps the part markers (a folder is merged, then they go).
    assert left == [f'{PARTS_DIR}/part_000000.json', 'index.json', 'mine/keep.png',
                    'notes.txt', 'smplx/a_00.npz', 'vis/a.jpg']
    assert not (tmp_path / 'mesh').exists() and not (tmp_path / 'frames').exists()
    clear_outputs(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mine', 'notes.txt']
