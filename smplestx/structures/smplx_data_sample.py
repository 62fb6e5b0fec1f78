"""The data contract between datasets, models, metrics and the demo."""

from mmengine.structures import BaseDataElement, InstanceData


class SMPLXDataSample(BaseDataElement):
    """One person crop: its metainfo, ground truth and prediction.

    Metainfo keys (set by the pipeline): ``img_path``, ``ori_shape`` (H, W),
    ``bbox`` (processed xywh in the original image), ``bb2img_trans`` and
    ``img2bb_trans`` (2x3 affine matrices between the 512x384 crop and the image),
    ``focal`` and ``princpt`` (virtual camera of the crop), ``flip`` and
    ``dataset_name``.

    Data fields:
        gt_instances (InstanceData): ground truth of the person, each field with a
            leading instance dimension of 1 (SMPL-X parameters in axis-angle,
            137 joints in 2D/3D with validity masks, GT mesh when available).
        pred_instances (InstanceData): prediction of the person, each field with a
            leading instance dimension of 1: ``global_orient`` (3), ``body_pose``
            (21, 3), ``left_hand_pose``/``right_hand_pose`` (15, 3), ``jaw_pose`` (3),
            ``betas`` (10), ``expression`` (10), ``transl`` (3), ``vertices``
            (V, 3), ``joints`` (137, 3), ``keypoints_2d`` (137, 2). Names follow the
            ``smplx`` package so they can be fed to ``smplx.create(...)(**params)``.
    """

    @property
    def gt_instances(self) -> InstanceData:
        """Ground truth of the person in this crop."""
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_instances', dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances

    @property
    def pred_instances(self) -> InstanceData:
        """Prediction for the person in this crop."""
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_instances', dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances
