"""The web demo (``tools/webui.py``): a Gradio page on the demo's inference path.

:mod:`.jobs` runs the demo on one upload (no Gradio needed), :mod:`.sessions` owns each
browser session's files, :mod:`.video` makes the overlay video browser-playable and
:mod:`.app` builds the page (needs the ``web`` extra).
"""

from smplestx.apis.webui.jobs import JobError, JobOptions, JobResult, WebDemo
from smplestx.apis.webui.sessions import SessionFiles
from smplestx.apis.webui.video import VideoEncodeError, to_browser_mp4

__all__ = ['JobError', 'JobOptions', 'JobResult', 'SessionFiles', 'VideoEncodeError',
           'WebDemo', 'to_browser_mp4']
