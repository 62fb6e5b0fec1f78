"""Person-box processing: sanitise, fix the aspect ratio, enlarge (official §5.4)."""

from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from smplestx.datasets.utils.bbox import process_bbox, virtual_camera
from smplestx.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GetBBox(BaseTransform):
    """Turn the raw person box into the crop box the model sees.

    The raw ``[x, y, w, h]`` box is sanitised against the image (official ``sanitize_bbox``),
    its short side is grown to the crop's aspect ratio ``W / H = 0.75`` and both sides are
    multiplied by ``ratio`` (official ``process_bbox``; float arithmetic here, see
    :mod:`smplestx.datasets.utils.bbox`). The virtual camera of the crop, expressed in image
    pixels (§2.6), is added as ``focal``/``princpt``; it is exact for un-augmented crops.

    Required keys: ``bbox`` (raw xywh in the original image; a 5th confidence value is
    ignored), ``ori_shape`` (``(H, W)``, set by :class:`LoadImage`).

    Added/modified keys: ``bbox`` (processed float32 xywh), ``bbox_raw``, ``focal``,
    ``princpt``.

    Args:
        ratio: Enlargement factor: 1.2 for detector boxes (demo), ``1.2 * 0.833`` for
            HumanData boxes, which already carry 1.2 padding.
        input_img_shape: Crop size ``(H, W)``.
        focal: Virtual focal length in the network input.
        princpt: Virtual principal point in the network input.
        input_body_shape: Network input size ``(H, W)``.
        skip_invalid: Return ``None`` for a degenerate box (MMEngine datasets then draw
            another sample in training) instead of raising.
    """

    def __init__(self, ratio: float = 1.2, input_img_shape: Tuple[int, int] = (512, 384),
                 focal: Tuple[float, float] = (5000.0, 5000.0),
                 princpt: Tuple[float, float] = (96.0, 128.0),
                 input_body_shape: Tuple[int, int] = (256, 192),
                 skip_invalid: bool = False) -> None:
        if ratio <= 0:
            raise ValueError(f'GetBBox: ratio must be positive, got {ratio}')
        self.ratio = ratio
        self.input_img_shape = tuple(input_img_shape)
        self.focal = tuple(focal)
        self.princpt = tuple(princpt)
        self.input_body_shape = tuple(input_body_shape)
        self.skip_invalid = skip_invalid

    def transform(self, results: dict) -> Optional[dict]:
        """Process ``results['bbox']``."""
        if 'bbox' not in results:
            raise KeyError("GetBBox needs a raw xywh 'bbox' in results")
        shape = results.get('ori_shape', results.get('img_shape'))
        if shape is None:
            raise KeyError("GetBBox needs 'ori_shape' (run LoadImage first)")
        raw = np.asarray(results['bbox'], dtype=np.float64).reshape(-1)
        if raw.size < 4:
            raise ValueError(f'GetBBox: bbox must have 4 values [x, y, w, h], got {raw}')
        img_h, img_w = int(shape[0]), int(shape[1])
        bbox = process_bbox(raw[:4], img_w, img_h, self.input_img_shape, self.ratio)
        if bbox is None:
            if self.skip_invalid:
                return None
            raise ValueError(
                f'GetBBox: degenerate bbox {raw[:4].tolist()} for image '
                f'{results.get("img_path", "<in-memory>")} of size {img_w}x{img_h} (empty, '
                f'not finite or outside the image)')
        results['bbox_raw'] = raw[:4].astype(np.float32)
        results['bbox'] = bbox
        results['focal'], results['princpt'] = virtual_camera(
            bbox, self.focal, self.princpt, self.input_body_shape)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ratio={self.ratio}, '
                f'input_img_shape={self.input_img_shape}, skip_invalid={self.skip_invalid})')
