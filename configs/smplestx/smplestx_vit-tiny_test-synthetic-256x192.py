# The tiny model of the official reference case on the synthetic HumanData set (tests and
# the distributed-equality check; protocol: ../_base_/evaluation/synthetic.py).
#   python tools/dataset_converters/make_synthetic_humandata.py --out-dir data/synthetic
#   SMPLESTX_BODY_MODELS=<folder> python tools/test.py \
#       configs/smplestx/smplestx_vit-tiny_test-synthetic-256x192.py CHECKPOINT
_base_ = [
    './smplestx_vit-tiny_1xb2-1e_synthetic-256x192.py', '../_base_/evaluation/synthetic.py'
]

test_dataloader = dict(
    _base_.synthetic_eval_dataloader, batch_size=2, num_workers=0, persistent_workers=False)
test_evaluator = _base_.synthetic_evaluator
