# SMPLest-X-H evaluated on EgoBody-EgoSet (protocol: ../_base_/evaluation/egobody.py).
#   python tools/test.py configs/smplestx/smplestx_vit-h_test-egobody-256x192.py CHECKPOINT
# CHECKPOINT: the official smplest_x_h.pth.tar or a converted checkpoint. Data under data/
# (see the preset); bash tools/dist_test.sh CONFIG CHECKPOINT GPUS for several GPUs.
_base_ = ['./smplestx_vit-h_16xb16-20e_h40-256x192.py', '../_base_/evaluation/egobody.py']

test_dataloader = _base_.egobody_eval_dataloader
test_evaluator = _base_.egobody_evaluator
