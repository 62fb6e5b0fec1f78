# SMPLest-X-H evaluated on UBody (intra-scene test split) (protocol: ../_base_/evaluation/ubody.py).
#   python tools/test.py configs/smplestx/smplestx_vit-h_test-ubody-256x192.py CHECKPOINT
# CHECKPOINT: the official smplest_x_h.pth.tar or a converted checkpoint. Data under data/
# (see the preset); bash tools/dist_test.sh CONFIG CHECKPOINT GPUS for several GPUs.
_base_ = ['./smplestx_vit-h_16xb16-20e_h40-256x192.py', '../_base_/evaluation/ubody.py']

test_dataloader = _base_.ubody_eval_dataloader
test_evaluator = _base_.ubody_evaluator
