#!/usr/bin/env bash
# Distributed demo with torchrun: bash tools/dist_demo.sh GPUS INPUT [INPUT ...] [demo.py options]
# GPUS processes per node (on a machine without GPUs: CPU processes over gloo). Each process
# reads and writes whole videos, images or parts of image folders, balanced by frame count;
# a rerun skips what is complete. Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as
# usual for torchrun (the output folder must be on a file system all nodes share); PYTHON
# picks the interpreter (default: python on PATH).
set -euo pipefail
GPUS=$1
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$(dirname "$0")/demo.py" "${@:2}" --launcher pytorch
