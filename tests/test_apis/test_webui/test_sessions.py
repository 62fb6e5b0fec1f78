import os

from smplestx.apis.webui.sessions import SessionFiles


def make_upload(root, digest, name='photo.jpg'):
    path = root / digest / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b'x')
    return str(path)


def test_session_end_deletes_its_jobs_and_unshared_uploads(tmp_path):
    cache = tmp_path / 'gradio'
    files = SessionFiles(str(cache / 'sessions'), str(cache))
    shared, own = make_upload(cache, 'aaa'), make_upload(cache, 'bbb')
    files.hold_upload('s1', shared)
    files.hold_upload('s1', own)
    files.hold_upload('s2', shared)
    first = files.new_job_dir('s1')
    second = files.new_job_dir('s1')
    assert not os.path.exists(first) and os.path.isdir(second)  # a new run replaces the old
    other = files.new_job_dir('s2')
    files.end('s1')
    assert not os.path.exists(second) and not os.path.exists(own)
    assert not (cache / 'bbb').exists()
    assert os.path.isfile(shared) and os.path.isdir(other)
    files.end('s2')
    assert not os.path.exists(shared) and not os.path.exists(other)
    assert sorted(os.listdir(cache)) == ['sessions']


def test_only_files_inside_the_upload_folder_are_deleted(tmp_path):
    cache = tmp_path / 'gradio'
    files = SessionFiles(str(cache / 'sessions'), str(cache))
    outside = tmp_path / 'mine.jpg'
    outside.write_bytes(b'x')
    files.hold_upload('s1', str(outside))
    files.hold_upload('../../s1', str(outside))
    files.end('s1')
    files.end('../../s1')
    assert outside.is_file()
    assert files.new_job_dir('../../evil').startswith(str(cache / 'sessions' / 'evil'))
