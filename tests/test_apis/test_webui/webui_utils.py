"""Inputs and helpers of the web demo tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
IMAGE, VIDEO = ROOT / 'demo' / 'astronaut.jpg', ROOT / 'demo' / 'astronaut_pan.mp4'

#: Upload limit of the test server (the bundled files are far smaller).
MAX_UPLOAD_MB = 2


def tiny_video(path: Path, size: int = 24, frames: int = 3) -> Path:
    """A video too small to hold a person (whole-image boxes under the 16x32 minimum)."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10.0, (size, size))
    for i in range(frames):
        writer.write(np.full((size, size, 3), 40 * i, np.uint8))
    writer.release()
    return path
