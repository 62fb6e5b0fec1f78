"""Browser-playable video: re-encode the demo's overlay video as H.264 in an ``.mp4``.

The demo writes its overlay video with OpenCV's ``mp4v`` codec (MPEG-4 Part 2), which
browsers do not play (Chromium's ``canPlayType('video/mp4; codecs="mp4v.20.8"')`` is
empty). OpenCV's PyPI wheels have no H.264 encoder, so the conversion runs the ffmpeg
binary that the ``imageio-ffmpeg`` package ships (built with libx264), installed with
the ``web`` extra.
"""

import subprocess
from typing import List

from smplestx.utils.io import atomic_path

#: Why a conversion cannot run, when imageio-ffmpeg is missing.
FFMPEG_MISSING = ('browser video needs the ffmpeg of imageio-ffmpeg: pip install -e ".[web]" '
                  '(or pip install imageio-ffmpeg)')


class VideoEncodeError(RuntimeError):
    """The overlay video could not be re-encoded."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by imageio-ffmpeg.

    Raises:
        VideoEncodeError: If imageio-ffmpeg is not installed.
    """
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise VideoEncodeError(FFMPEG_MISSING) from err
    return imageio_ffmpeg.get_ffmpeg_exe()


def h264_command(src: str, dst: str, crf: int = 23) -> List[str]:
    """The ffmpeg command that writes ``src`` as H.264 (yuv420p, even size) to ``dst``.

    ``yuv420p`` and even width/height are what browsers' H.264 decoders accept;
    ``+faststart`` puts the index first so playback starts before the download ends.
    """
    return [ffmpeg_exe(), '-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', src,
            '-an', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264',
            '-preset', 'veryfast', '-crf', str(crf), '-pix_fmt', 'yuv420p',
            '-movflags', '+faststart', '-f', 'mp4', dst]


def to_browser_mp4(src: str, dst: str, timeout: float = 600.0) -> str:
    """Re-encode a video as browser-playable H.264 ``.mp4``, atomically.

    Args:
        src: Input video (any codec ffmpeg reads).
        dst: Output ``.mp4``; replaced only when the encode succeeded.
        timeout: Seconds before the encode is abandoned.

    Returns:
        ``dst``.

    Raises:
        VideoEncodeError: If ffmpeg is missing, fails or runs over ``timeout``.
    """
    with atomic_path(dst) as tmp:
        try:
            result = subprocess.run(h264_command(src, tmp), capture_output=True, text=True,
                                    timeout=timeout, check=False)
        except subprocess.TimeoutExpired as err:
            raise VideoEncodeError(f'H.264 encode of {src} ran over {timeout:.0f} s') from err
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ['no message'])[-1]
            raise VideoEncodeError(f'H.264 encode of {src} failed: {detail}')
    return dst
