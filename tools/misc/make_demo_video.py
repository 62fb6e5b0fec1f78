"""Make the bundled sample video ``demo/astronaut_pan.mp4`` from ``skimage.data.astronaut()``.

The photo (NASA, public domain) ships with scikit-image. The video pans and zooms a crop
over it; it is written with OpenCV's ``mp4v`` codec. The image ``demo/astronaut.jpg`` is
written too.

Example::

    python tools/misc/make_demo_video.py --out-dir demo
"""

import argparse
import os.path as osp
import sys

import cv2
import numpy as np

from smplestx.utils.io import atomic_path, atomic_write_image


def astronaut_bgr() -> np.ndarray:
    """The 512x512 astronaut photo as a BGR uint8 array."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[..., ::-1])


def pan_frames(image: np.ndarray, num_frames: int = 20, width: int = 320,
               height: int = 240) -> list:
    """Crops that zoom in from the full width and pan across, resized to ``width x height``."""
    img_h, img_w = image.shape[:2]
    frames = []
    for i in range(num_frames):
        t = i / max(num_frames - 1, 1)
        crop_w = img_w * (1.0 - 0.3 * t)
        crop_h = crop_w * height / width
        cx = img_w / 2 + (t - 0.5) * 0.2 * img_w
        cy = min(max(img_h * 0.45, crop_h / 2), img_h - crop_h / 2)
        cx = min(max(cx, crop_w / 2), img_w - crop_w / 2)
        src = np.float32([[cx - crop_w / 2, cy - crop_h / 2], [cx + crop_w / 2, cy - crop_h / 2],
                          [cx - crop_w / 2, cy + crop_h / 2]])
        dst = np.float32([[0, 0], [width, 0], [0, height]])
        warp = cv2.getAffineTransform(src, dst)
        frames.append(cv2.warpAffine(image, warp, (width, height), flags=cv2.INTER_AREA))
    return frames


def write_video(path: str, frames: list, fps: float = 10.0) -> None:
    """Write BGR frames to an ``mp4v`` MP4 file atomically."""
    height, width = frames[0].shape[:2]
    with atomic_path(path) as tmp:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
        if not writer.isOpened():
            raise RuntimeError(f'OpenCV cannot write mp4v video to {path}')
        for frame in frames:
            writer.write(frame)
        writer.release()


def main(argv=None) -> int:
    """Write ``astronaut.jpg`` and ``astronaut_pan.mp4`` into ``--out-dir``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='demo', help='destination folder')
    parser.add_argument('--frames', type=int, default=20, help='number of video frames')
    parser.add_argument('--fps', type=float, default=10.0, help='video frame rate')
    args = parser.parse_args(argv)
    image = astronaut_bgr()
    atomic_write_image(osp.join(args.out_dir, 'astronaut.jpg'), image,
                       [cv2.IMWRITE_JPEG_QUALITY, 90])
    write_video(osp.join(args.out_dir, 'astronaut_pan.mp4'), pan_frames(image, args.frames),
                args.fps)
    print(f'wrote {args.out_dir}/astronaut.jpg and {args.out_dir}/astronaut_pan.mp4')
    return 0


if __name__ == '__main__':
    sys.exit(main())
