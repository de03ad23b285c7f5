#!/bin/bash
# slurm-swe-eval.sh - a plait SWE-bench evaluation as a Slurm job array: each
# array task evaluates one shard (plait bench swe eval --shard K/N), and a
# second job, started when every shard has succeeded, merges the shards'
# summaries into the run's summary (plait bench swe merge).
#
# Submit from a directory every node sees (the logs, the shards' summaries and
# the repositories must be on a shared filesystem):
#
#   jid=$(sbatch --parsable configs/cluster/slurm-swe-eval.sh)
#   sbatch --dependency=afterok:"$jid" configs/cluster/slurm-swe-eval.sh merge
#
# The array size (--array=1-N below, or sbatch --array=1-N) is the number of
# shards.  Settings come from the environment (sbatch --export, or defaults):
#   PLAIT        the plait program                       (plait)
#   DATASET      dataset file or name                    (verified)
#   PREDICTIONS  predictions file, or gold               (preds.jsonl)
#   RUN_ID       the run's id                            (slurm-$SLURM_ARRAY_JOB_ID)
#   REPOS        repositories as REPOS/owner__name       (repos)
#   WORKERS      instances at once on a node             ($SLURM_CPUS_PER_TASK or 4)
#   LOG_DIR      where logs/ goes                        (logs)
#   REPORT_DIR   where the summaries go                  (.)
#   EVAL_ARGS    more options for plait bench swe eval   (none; e.g. --grading v5)
#
#SBATCH --job-name=plait-swe-eval
#SBATCH --array=1-8
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=12:00:00
#SBATCH --output=slurm-plait-swe-%A_%a.out
set -euo pipefail

PLAIT=${PLAIT:-plait}
DATASET=${DATASET:-verified}
PREDICTIONS=${PREDICTIONS:-preds.jsonl}
RUN_ID=${RUN_ID:-slurm-${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-local}}}
REPOS=${REPOS:-repos}
WORKERS=${WORKERS:-${SLURM_CPUS_PER_TASK:-4}}
LOG_DIR=${LOG_DIR:-logs}
REPORT_DIR=${REPORT_DIR:-.}

if [ "${1:-}" = merge ]; then
	# the shards' summaries: MODEL.RUN_ID.shard-K-of-N.json
	shopt -s nullglob
	shards=("$REPORT_DIR"/*."$RUN_ID".shard-*-of-*.json)
	if [ ${#shards[@]} -eq 0 ]; then
		echo "slurm-swe-eval: no shard summaries for run $RUN_ID in $REPORT_DIR" >&2
		exit 1
	fi
	exec "$PLAIT" bench swe merge --report-dir "$REPORT_DIR" "${shards[@]}"
fi

: "${SLURM_ARRAY_TASK_ID:?run as an array job (sbatch --array=1-N), or set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT}"
N=${SLURM_ARRAY_TASK_COUNT:-${SLURM_ARRAY_TASK_MAX:?}}
# shellcheck disable=SC2086 # EVAL_ARGS is a list of options
exec "$PLAIT" bench swe eval --dataset "$DATASET" --predictions "$PREDICTIONS" --run-id "$RUN_ID" \
	--repos "$REPOS" --workers "$WORKERS" --log-dir "$LOG_DIR" --report-dir "$REPORT_DIR" \
	--shard "$SLURM_ARRAY_TASK_ID/$N" ${EVAL_ARGS:-}
