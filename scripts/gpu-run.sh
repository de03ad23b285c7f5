#!/bin/bash
# gpu-run.sh [STEP...] - the CUDA backend's checks and benchmark on a GPU
# machine, from a directory staged by scripts/gpu-stage.sh (it builds
# nothing there).  Logs go to $LOGS (default /tmp/plait-gpu), packed into
# $OUT/gpu-logs.tar.gz when $OUT is set; one table is printed at the end.
#
# Steps (all of them, in this order, when none is named; STEP:SECONDS sets
# a step's time limit):
#   kernels   the module's kernels against their CPU references
#   cuda      the CUDA tests: CUDA against the CPU backend, 512 positions
#   bench     plait bench engine --json, then the PyTorch implementation of
#   torch       the same model in the same run, and the comparison table
#   parity    the engine's parity tests, every backend, the CPU as oracle
#   backend   the backend seam's tests, every backend
#   memcheck  compute-sanitizer memcheck on the kernel, sampling and
#             backend tests
#   racecheck compute-sanitizer racecheck on the same
#   parity-racecheck
#             racecheck on the CUDA parity tests, 8 processes side by side
#             (not in the default list: a case takes 4-9 minutes under
#             it); CASES=name,... keeps to those cases (PLAIT_TEST_CASES)
#   ncu       Nsight Compute on one layer of an R = 2 decode step (the
#             kernels of layer 0 of the second profiled step: R = 1's
#             profiled range holds 12 steps of 100 matching launches and
#             one from its prefill, R = 2's first step 101), with the
#             source counters: which instructions stall, and on what
#             (not in the default list)
#
# TORCH_ARGS are passed to bench_engine_torch.py (--loops 2 --no-prefill for
# a short run).  PyTorch is the machine's python3; the reference (tests/reference/plt_ref.py)
# runs on it too (PLAIT_REF_PYTHON).
set -u
D=$(cd "$(dirname "$0")/.." && pwd)
LOGS=${LOGS:-/tmp/plait-gpu}
steps=${*:-kernels cuda bench torch parity backend memcheck racecheck}
mkdir -p "$LOGS"
export PLAIT_ROOT=$D PLAIT_BIN=$D/build/plait PLAIT_REF_PYTHON=${PLAIT_REF_PYTHON:-python3}
T=$D/build/tests/test-engine
summary=()

step() { # step NAME TIMEOUT CMD...: log to $LOGS/NAME.log, keep status and time
	local name=$1 limit=$2 t0 rc
	shift 2
	t0=$(date +%s)
	echo "== $name: $*" >&2
	timeout "$limit" "$@" >"$LOGS/$name.log" 2>&1
	rc=$?
	summary+=("$(printf '| %-22s | %4s | %5ss |' "$name" "$rc" "$(($(date +%s) - t0))")")
	tail -n 4 "$LOGS/$name.log" >&2
	return $rc
}

# the test binary with the libraries carried for it (Criterion and its
# needs), which the machine's python3 must not see
tests=(env LD_LIBRARY_PATH="$D/lib" "$T")

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv >&2

san=(--target-processes all --error-exitcode 9 --print-limit 20)
for spec in $steps; do
	st=${spec%%:*}
	lim=${spec#*:}
	[ "$lim" = "$spec" ] && lim=
	case $st in
	kernels) step kernels ${lim:-200} "${tests[@]}" --verbose --filter 'cuda/kernels*' ;;
	cuda) step cuda ${lim:-400} "${tests[@]}" --jobs 8 --verbose --filter 'cuda/*' ;;
	parity) step parity ${lim:-400} "${tests[@]}" --jobs 12 --filter 'parity/*' ;;
	backend) step backend ${lim:-200} "${tests[@]}" --jobs 4 --filter 'backend/*' ;;
	memcheck)
		step memcheck ${lim:-300} compute-sanitizer --tool memcheck "${san[@]}" env LD_LIBRARY_PATH="$D/lib" "$T" \
			--jobs 1 --filter '@(cuda/kernels|cuda/sampling|backend/)*' ;;
	racecheck)
		step racecheck ${lim:-300} compute-sanitizer --tool racecheck "${san[@]}" env LD_LIBRARY_PATH="$D/lib" "$T" \
			--jobs 1 --filter '@(cuda/kernels|cuda/sampling|backend/)*' ;;
	parity-racecheck)
		step parity-racecheck ${lim:-540} compute-sanitizer --tool racecheck "${san[@]}" \
			env LD_LIBRARY_PATH="$D/lib" PLAIT_TEST_CASES="${CASES:-}" "$T" --jobs 8 --verbose \
			--filter '@(cuda/random_models_agree_and_windows_stay_fixed|cuda/logprobs_meet_the_bf16_bar_on_trained_like_checkpoints)*' ;;
	ncu)
		step ncu ${lim:-300} ncu --profile-from-start off -k 'regex:k_gemv|k_dec' --launch-skip 1303 --launch-count 8 \
			--section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
			--section SchedulerStats --section SourceCounters \
			"$D/build/plait" bench engine --backend cuda --profile --tokens 8 --prompt 512
		grep -E "^  [a-z_:]*k_|^  void|Duration|DRAM Throughput|Registers Per|Achieved Occupancy|Warp Cycles Per Issued" \
			"$LOGS/ncu.log" | sed 's/  */ /g' >&2 ;;
	bench)
		step plait-bench ${lim:-300} sh -c "'$D/build/plait' bench engine --backend cuda --json > '$LOGS/plait.json'" ;;
	torch)
		step torch-bench ${lim:-500} env PYTHONUNBUFFERED=1 python3 "$D/scripts/bench_engine_torch.py" \
			--plait-json "$LOGS/plait.json" --json-out "$LOGS/torch.json" ${TORCH_ARGS:-} ;;
	*) echo "gpu-run.sh: unknown step '$st'" >&2 ;;
	esac
done
echo
echo "| step | rc | time |"
echo "| --- | ---: | ---: |"
printf '%s\n' "${summary[@]}"
grep -h "cuda parity\|Assertion\|  [a-z0-9_]*, [a-z]*: \|: decode against\|after truncate\|cuda random\|cuda state\|parity .*: prefill rel err\|^FAIL\|^ok" "$LOGS"/kernels.log "$LOGS"/cuda.log \
	"$LOGS"/parity.log 2>/dev/null | sort -u | head -80
grep -h "ERROR SUMMARY\|RACECHECK SUMMARY" "$LOGS"/*check*.log 2>/dev/null
grep -h "Synthesis" "$LOGS"/*.log 2>/dev/null
[ -f "$LOGS/torch-bench.log" ] && sed -n '/^GPU:/,$p' "$LOGS/torch-bench.log"
[ -n "${OUT:-}" ] && tar -czf "$OUT/gpu-logs.tar.gz" -C "$LOGS" .
exit 0
