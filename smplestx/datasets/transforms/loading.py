"""Image loading for the SMPLest-X pipeline."""

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from smplestx.datasets.utils.image_io import imread_rgb
from smplestx.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load the RGB image of a sample, or accept an in-memory one.

    Differences from the official ``load_img``: the image stays ``uint8`` (the crop
    transform converts it to float32 before warping, which gives the same numbers), and the
    EXIF orientation tag is honoured unless ``official_ignore_exif=True``.

    Required keys: ``img_path``, or ``img`` (an ``(H, W, 3)`` RGB array, e.g. from the
    inference API; then the file is not read).

    Added/modified keys: ``img`` (RGB ``uint8`` or the given array), ``img_shape`` and
    ``ori_shape`` (``(H, W)``).

    Args:
        official_ignore_exif: Decode the stored pixels and ignore the EXIF orientation, as
            the official code (``cv2.IMREAD_IGNORE_ORIENTATION``) does.
        backend_args: File backend arguments for :func:`mmengine.fileio.get`.
    """

    def __init__(self, official_ignore_exif: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        self.official_ignore_exif = official_ignore_exif
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Load ``results['img_path']`` or validate ``results['img']``."""
        img = results.get('img')
        if img is None:
            path = results.get('img_path')
            if not path:
                raise KeyError("LoadImage needs 'img_path' or an in-memory 'img' in results")
            img = imread_rgb(path, self.official_ignore_exif, self.backend_args)
        else:
            img = np.asarray(img)
            if img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(f'LoadImage: in-memory img must be (H, W, 3) RGB, got shape '
                                 f'{img.shape}')
        results['img'] = img
        results['img_shape'] = tuple(img.shape[:2])
        results['ori_shape'] = tuple(img.shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(official_ignore_exif={self.official_ignore_exif})'
