"""The affine crop to the 512x384 network input (official ``generate_patch_image``)."""

from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from smplestx.datasets.utils.affine import affine_points, get_affine_transform
from smplestx.datasets.utils.flip import flip_keypoints_2d, flip_keypoints_3d, swap_pairs
from smplestx.datasets.utils.warp import warp_affine_linear
from smplestx.registry import TRANSFORMS
from smplestx.structures.keypoint import SMPLX_137_FLIP_PAIRS


@TRANSFORMS.register_module()
class AffineCrop(BaseTransform):
    """Warp the box to the network crop, applying the sampled augmentation if any.

    Like the official code, the image is converted to float32, mirrored when flipping (the
    box centre becomes ``W - cx - 1``), and warped bilinearly with a zero
    border through the 3-point transform of
    :func:`~smplestx.datasets.utils.affine.get_affine_transform`, with OpenCV 4.x's 1/32 px
    sampling (:func:`~smplestx.datasets.utils.warp.warp_affine_linear`), so the crop equals
    the official one whatever OpenCV version is installed. The colour gain is applied
    afterwards with clipping to ``[0, 255]``. No rounding to ``uint8`` happens. Only the
    window of the frame that the crop samples is converted and mirrored, with the same
    result.

    Keypoints move with the image: when flipping, ``keypoints_2d`` are mirrored
    (``x -> W - 1 - x``), ``keypoints_3d`` get ``x -> -x``, and both plus
    ``keypoints_valid`` have their left/right pairs swapped; ``keypoints_2d`` are then mapped
    into crop pixels with ``img2bb_trans``.

    Required keys: ``img``, ``bbox`` (processed xywh).

    Optional keys: ``aug_scale``, ``aug_rot`` (degrees), ``aug_flip``, ``aug_color_scale``
    (from :class:`RandomSMPLXAugment`), ``keypoints_2d`` ``(J, 2)``, ``keypoints_3d``
    ``(J, 3)``, ``keypoints_valid`` ``(J, 1)``.

    Added/modified keys: ``img`` (``(H, W, 3)`` float32, RGB, [0, 255]), ``img_shape``,
    ``img2bb_trans`` and ``bb2img_trans`` (float32 ``(2, 3)``), ``flip``, ``rot``, ``scale``,
    and the keypoint keys above.

    Args:
        input_img_shape: Crop size ``(H, W)``.
        flip_pairs: Left/right pairs of the keypoint set; the 137-joint pairs by default.
    """

    def __init__(self, input_img_shape: Tuple[int, int] = (512, 384),
                 flip_pairs: Optional[Sequence[Tuple[int, int]]] = None) -> None:
        self.input_img_shape = (int(input_img_shape[0]), int(input_img_shape[1]))
        self.flip_pairs = tuple(map(tuple, flip_pairs)) if flip_pairs else SMPLX_137_FLIP_PAIRS

    def transform(self, results: dict) -> dict:
        """Crop ``results['img']`` around ``results['bbox']``."""
        for key in ('img', 'bbox'):
            if key not in results:
                raise KeyError(f"AffineCrop needs '{key}' in results")
        scale = float(results.get('aug_scale', 1.0))
        rot = float(results.get('aug_rot', 0.0))
        flip = bool(results.get('aug_flip', False))
        color = results.get('aug_color_scale')

        img = np.asarray(results['img'])
        img_w = img.shape[1]
        bbox = np.asarray(results['bbox'], dtype=np.float32)
        center_x = float(bbox[0] + 0.5 * bbox[2])
        center_y = float(bbox[1] + 0.5 * bbox[3])
        size = (float(bbox[2]), float(bbox[3]))
        if flip:
            center_x = img_w - center_x - 1
        out_h, out_w = self.input_img_shape
        img2bb = get_affine_transform((center_x, center_y), size, (out_w, out_h), scale, rot)
        bb2img = get_affine_transform((center_x, center_y), size, (out_w, out_h), scale, rot,
                                      inv=True)
        # The float32 conversion and the mirroring happen on the sampled window only.
        patch = warp_affine_linear(img, img2bb, (out_w, out_h), flip=flip, dtype=np.float32)
        if color is not None:
            patch = np.clip(patch * np.asarray(color, dtype=np.float64)[None, None, :], 0, 255)
        results['img'] = patch.astype(np.float32)
        results['img_shape'] = (out_h, out_w)
        results['img2bb_trans'] = img2bb
        results['bb2img_trans'] = bb2img
        results['flip'] = flip
        results['rot'] = rot
        results['scale'] = scale
        self._transform_keypoints(results, flip, img_w, img2bb)
        return results

    def _transform_keypoints(self, results: dict, flip: bool, img_w: int,
                             img2bb: np.ndarray) -> None:
        kps2d = results.get('keypoints_2d')
        if flip:
            if kps2d is not None:
                kps2d = flip_keypoints_2d(kps2d, img_w, self.flip_pairs)
            if results.get('keypoints_3d') is not None:
                results['keypoints_3d'] = flip_keypoints_3d(results['keypoints_3d'],
                                                            self.flip_pairs)
            if results.get('keypoints_valid') is not None:
                results['keypoints_valid'] = swap_pairs(results['keypoints_valid'],
                                                        self.flip_pairs)
        if kps2d is not None:
            kps2d = np.array(kps2d, dtype=np.float32, copy=True)
            kps2d[:, :2] = affine_points(kps2d[:, :2], img2bb)
            results['keypoints_2d'] = kps2d

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(input_img_shape={self.input_img_shape})'
