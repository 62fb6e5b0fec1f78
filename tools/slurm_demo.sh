#!/usr/bin/env bash
# Demo on a Slurm cluster: bash tools/slurm_demo.sh PARTITION JOB_NAME INPUT [INPUT ...] [demo.py options]
# GPUS (total, default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5), SRUN_ARGS.
# One task per GPU; each reads and writes whole videos, images or parts of image folders.
# For a Slurm array, give each task its share with --shard, e.g.
#   sbatch --array=0-9 --wrap 'bash tools/slurm_demo.sh ... --shard $SLURM_ARRAY_TASK_ID/10'
# (run from inside an allocation, srun starts the job step there).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    python -u "$(dirname "$0")/demo.py" "${@:3}" --launcher slurm
