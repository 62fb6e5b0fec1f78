# SMPLest-X-H on the AGORA test set: writes the server submission (protocol and format:
# ../_base_/evaluation/agora.py); upload <out_dir>/predictions.zip to the AGORA server.
#   python tools/test.py configs/smplestx/smplestx_vit-h_test-agora-test-256x192.py CHECKPOINT \
#       --cfg-options test_evaluator.out_dir=work_dirs/agora_submission
_base_ = ['./smplestx_vit-h_16xb16-20e_h40-256x192.py', '../_base_/evaluation/agora.py']

test_dataloader = _base_.agora_test_eval_dataloader
test_evaluator = _base_.agora_test_evaluator
