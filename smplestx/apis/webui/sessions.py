"""Files of each browser session of the web demo, deleted when the session ends.

A session owns the job folders of its runs (only the latest is kept: a new run replaces
the page's outputs) and holds its uploads. Gradio stores an upload under a folder named
after its content, so two visitors who upload the same file share it: an upload is
deleted when the last session that holds it ends.
"""

import os
import os.path as osp
import shutil
import threading
import uuid
from typing import Dict, List, Set


class SessionFiles:
    """Job folders and uploads per session.

    Args:
        jobs_root: Folder under which each session gets ``<session>/<job>/`` folders.
        upload_root: Gradio's upload folder: only uploads inside it are ever deleted.
    """

    def __init__(self, jobs_root: str, upload_root: str) -> None:
        self.jobs_root = osp.abspath(jobs_root)
        self.upload_root = osp.abspath(upload_root)
        self._lock = threading.Lock()
        self._holders: Dict[str, Set[str]] = {}
        self._jobs: Dict[str, List[str]] = {}

    @staticmethod
    def _key(session: str) -> str:
        key = ''.join(c for c in str(session) if c.isalnum() or c in '-_')[:64]
        return key or 'anonymous'

    def hold_upload(self, session: str, path: str) -> None:
        """Record that ``session`` uses the uploaded file ``path``."""
        with self._lock:
            self._holders.setdefault(osp.abspath(path), set()).add(self._key(session))

    def new_job_dir(self, session: str) -> str:
        """A new, empty job folder for ``session``; its earlier job folders are deleted."""
        key = self._key(session)
        path = osp.join(self.jobs_root, key, uuid.uuid4().hex)
        with self._lock:
            old, self._jobs[key] = self._jobs.get(key, []), [path]
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(path)
        return path

    def end(self, session: str) -> None:
        """Delete the session's job folders and the uploads no other session holds."""
        key = self._key(session)
        with self._lock:
            self._jobs.pop(key, None)
            orphans = []
            for path, holders in list(self._holders.items()):
                holders.discard(key)
                if not holders:
                    del self._holders[path]
                    orphans.append(path)
        shutil.rmtree(osp.join(self.jobs_root, key), ignore_errors=True)
        for path in orphans:
            self._delete_upload(path)

    def _delete_upload(self, path: str) -> None:
        """Delete an upload and its folder if empty, only inside the upload folder."""
        if osp.commonpath([self.upload_root, path]) != self.upload_root or \
                osp.commonpath([self.jobs_root, path]) == self.jobs_root:
            return
        try:
            os.unlink(path)
            folder = osp.dirname(path)
            if folder != self.upload_root and not os.listdir(folder):
                os.rmdir(folder)
        except OSError:
            pass
