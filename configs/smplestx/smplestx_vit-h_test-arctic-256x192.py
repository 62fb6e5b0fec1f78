# SMPLest-X-H evaluated on ARCTIC (validation split) (protocol: ../_base_/evaluation/arctic.py).
#   python tools/test.py configs/smplestx/smplestx_vit-h_test-arctic-256x192.py CHECKPOINT
# CHECKPOINT: the official smplest_x_h.pth.tar or a converted checkpoint. Data under data/
# (see the preset); bash tools/dist_test.sh CONFIG CHECKPOINT GPUS for several GPUs.
_base_ = ['./smplestx_vit-h_16xb16-20e_h40-256x192.py', '../_base_/evaluation/arctic.py']

test_dataloader = _base_.arctic_eval_dataloader
test_evaluator = _base_.arctic_evaluator
