"""The Gradio page of the web demo: upload, options, overlay, 3D view, downloads.

Built for a shared, offline machine: no analytics (see :mod:`smplestx.utils.offline`), no
share tunnel, no monitoring page, no run history in the browser, fonts and scripts served
by the app itself (Gradio 6's default theme bundles its fonts), loopback by default, a
size limit on uploads, the uploads and outputs of a session deleted when its tab closes,
and one job at a time on the model, the others waiting in a queue.
"""

import os
import os.path as osp
import re
from typing import Any, Optional, Sequence

TITLE = 'SMPLest-X: whole-body SMPL-X from an image or a video'
CSS = """
#notice { background: #fff3cd; border: 2px solid #d39e00; border-radius: 8px; padding: 8px 16px; }
#notice p { color: #5c4400; font-size: 1.05em; }
#status { min-height: 2.5em; }
"""
SOURCE_CHOICES = [('person detector', 'detector'), ('whole image (one person)', 'whole_image')]


def escape_markdown(text: str) -> str:
    """``text`` shown literally by Markdown (file names such as ``__x__`` stay as they are)."""
    return re.sub(r'([\\`*_\[\]<>|~])', r'\\\1', text)


def notice_markdown(notice: Optional[str]) -> str:
    """The placeholder banner's text (Markdown)."""
    if not notice:
        return ''
    text = notice[len('notice: '):] if notice.startswith('notice: ') else notice
    return f'**Placeholder model: these results are not estimates.** {escape_markdown(text)}'


def build_app(demo, upload_dir: str, delete_cache: Sequence[int] = (3600, 6 * 3600)):
    """Build the Blocks app of a :class:`~smplestx.apis.webui.jobs.WebDemo`.

    The process should be offline already
    (:func:`smplestx.utils.offline.set_offline_environment`, before Gradio is imported).

    Args:
        demo: The model and its jobs.
        upload_dir: Gradio's upload and cache folder (set as ``$GRADIO_TEMP_DIR`` of this
            process); job folders go in its ``sessions/`` so that Gradio serves them
            without copying.
        delete_cache: ``(every, age)`` seconds: a backstop that deletes cached files
            older than ``age`` (sessions that never closed cleanly).

    Returns:
        The (not yet launched) ``gr.Blocks``.
    """
    os.environ['GRADIO_TEMP_DIR'] = upload_dir  # read by the Blocks and the upload route
    import gradio as gr

    from smplestx.apis.webui.jobs import UPLOAD_EXTS, JobError, JobOptions
    from smplestx.apis.webui.sessions import SessionFiles

    sessions = SessionFiles(osp.join(upload_dir, 'sessions'), upload_dir)
    detector = demo.detector is not None

    def hold(upload: Optional[str], request: gr.Request) -> None:
        if upload:
            sessions.hold_upload(request.session_hash, upload)

    def end(request: gr.Request) -> None:
        sessions.end(request.session_hash)

    def run(upload, source, score_thr, max_people, track, smooth, min_cutoff, beta, alpha,
            boxes, keypoints, request: gr.Request):
        empty = dict(overlay=None, video=None, view3d=None, params=None, glb=None, bvh=None)
        if not upload:
            return _outputs('**Upload an image or a video first.**', **empty)
        sessions.hold_upload(request.session_hash, upload)
        options = JobOptions(person_source=source, det_score_thr=float(score_thr),
                             max_people=int(max_people) or None, track=bool(track),
                             smooth=bool(smooth), smooth_min_cutoff=float(min_cutoff),
                             smooth_beta=float(beta), mesh_alpha=float(alpha),
                             show_boxes=bool(boxes), show_keypoints=bool(keypoints))
        try:
            result = demo.run_job(upload, options, sessions.new_job_dir(request.session_hash))
        except JobError as err:
            return _outputs(f'**Error:** {escape_markdown(str(err))}', **empty)
        status = escape_markdown(result.message)
        if result.animation_note:
            note = result.animation_note
            status += f'\n\n{escape_markdown(note[0].upper() + note[1:])}.'
        if result.notice:
            status += f'\n\n{notice_markdown(result.notice)}'
        return _outputs(status, overlay=result.overlay, video=result.video,
                        view3d=result.view3d, params=result.params_zip, glb=result.glb or None,
                        bvh=result.bvh or None)

    def show_overlay(video_path: Optional[str]) -> tuple:
        """Show the overlay video for a video, the overlay image otherwise."""
        return gr.update(visible=not video_path), gr.update(visible=bool(video_path))

    with gr.Blocks(title='SMPLest-X web demo', analytics_enabled=False,
                   delete_cache=tuple(delete_cache)) as app:
        gr.Markdown(f'# {TITLE}')
        gr.Markdown(notice_markdown(demo.notice), elem_id='notice', visible=bool(demo.notice))
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label='Image or video', file_types=list(UPLOAD_EXTS),
                                 elem_id='upload')
                source = gr.Radio(SOURCE_CHOICES, label='People',
                                  value='detector' if detector else 'whole_image',
                                  info=None if detector else demo.detector_problem,
                                  elem_id='source')
                score_thr = gr.Slider(0.05, 0.95, value=0.5, step=0.05,
                                      label='Detection score threshold', elem_id='score-thr')
                max_people = gr.Slider(0, 20, value=0, step=1, label='Max people (0: all)',
                                       elem_id='max-people')
                with gr.Accordion('Video', open=False):
                    track = gr.Checkbox(True, label='Track people across frames',
                                        elem_id='track')
                    smooth = gr.Checkbox(False, label='Smooth each track (One Euro)',
                                         elem_id='smooth')
                    min_cutoff = gr.Slider(0.1, 5.0, value=1.0, step=0.1,
                                           label='Smoothing min cutoff (Hz, lower: smoother)')
                    beta = gr.Slider(0.0, 2.0, value=0.5, step=0.1,
                                     label='Smoothing beta (higher: less lag)')
                with gr.Accordion('Rendering', open=False):
                    alpha = gr.Slider(0.0, 1.0, value=0.8, step=0.05, label='Mesh opacity')
                    boxes = gr.Checkbox(True, label='Draw person boxes')
                    keypoints = gr.Checkbox(False, label='Draw 2D keypoints')
                button = gr.Button('Run', variant='primary', elem_id='run')
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id='status')
                overlay = gr.Image(label='Overlay', type='filepath', interactive=False,
                                   elem_id='overlay')
                video = gr.Video(label='Overlay video (H.264)', interactive=False,
                                 visible=False, elem_id='overlay-video')
                view3d = gr.Model3D(label='3D view (GLB)', elem_id='view3d', height=480)
                with gr.Row():
                    params = gr.File(label='SMPL-X parameters (.zip of .npz)',
                                     interactive=False, elem_id='params')
                    glb = gr.File(label='GLB (one per person)', file_count='multiple',
                                  interactive=False, elem_id='glb')
                    bvh = gr.File(label='BVH (one per person)', file_count='multiple',
                                  interactive=False, elem_id='bvh')
        upload.upload(hold, upload, None, queue=False, api_name=False)
        button.click(run, [upload, source, score_thr, max_people, track, smooth, min_cutoff,
                           beta, alpha, boxes, keypoints],
                     [status, overlay, video, view3d, params, glb, bvh], api_name='run',
                     concurrency_limit=1, concurrency_id='model').then(
                         show_overlay, video, [overlay, video], queue=False, api_name=False)
        app.unload(end)
    return app


def _outputs(status: str, overlay: Any, video: Any, view3d: Any, params: Any, glb: Any,
             bvh: Any) -> tuple:
    return status, overlay, video, view3d, params, glb, bvh


def launch(app, host: str = '127.0.0.1', port: int = 7860, max_upload_mb: int = 200,
           queue_size: int = 16, block: bool = True):
    """Serve the app: queued jobs, upload limit, nothing reachable from outside the host.

    Args:
        app: The app of :func:`build_app`.
        host: Address to listen on (loopback by default).
        port: Port.
        max_upload_mb: Largest upload, in MB.
        queue_size: Most jobs waiting at once; later visitors are told the queue is full.
        block: Serve until interrupted (``False``: return once the server runs).
    """
    app.queue(max_size=queue_size, default_concurrency_limit=1)
    app.launch(server_name=host, server_port=port, share=False, inbrowser=False,
               max_file_size=f'{max_upload_mb}mb', show_error=True, footer_links=['api'],
               ssr_mode=False, pwa=False, mcp_server=False, enable_monitoring=False,
               run_history=False, css=CSS, prevent_thread_lock=not block, quiet=False)
