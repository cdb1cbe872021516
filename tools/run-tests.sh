#!/usr/bin/env bash
# make test's run: the static and kwok tests (pytest-xdist, TEST_WORKERS workers) and the real-pods
# tests, at the same time (TEST_CONCURRENT=0: one after the other).
#
# Why at once: the real pods spend most of their wall time waiting (pod starts, probes, Helm's hook
# Jobs one by one, the recovery of a lost member), not computing, and the static and kwok tests
# fill that idle CPU. The static stage runs at a lower priority (nice STATIC_NICE) so that the real
# pods, whose waits have deadlines tied to real processes, keep the CPU they need when they need
# it. Each stage keeps its own log: the real pods stream to the terminal, the static stage's log is
# printed when both are done. The run fails when either stage fails, and says which.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
WORKERS=${TEST_WORKERS:-2}
SCOPE=${REALPODS_SCOPE:-full}
CONCURRENT=${TEST_CONCURRENT:-1}
NICENESS=${STATIC_NICE:-5}

STATIC_TESTS=("$BIN/python" -m pytest -n "$WORKERS" --dist loadfile)

real_pod_tests() {
    CHARTGEN_REALPODS_SCOPE=$SCOPE $BIN/python -m pytest -m realpods tests/realpods -v
}

verdict() {  # name, exit code, seconds
    if [ "$2" -eq 0 ]; then echo "make test: $1 passed in $3s"; else echo "make test: $1 FAILED (pytest exit $2) after $3s"; fi
}

began=$(date +%s)
if [ "$CONCURRENT" = 0 ]; then
    "${STATIC_TESTS[@]}"; static_rc=$?; static_s=$(( $(date +%s) - began ))
    real_pod_tests; real_rc=$?; real_s=$(( $(date +%s) - began - static_s ))
else
    log=$(mktemp -t chartgen-static-tests.XXXXXX)
    # A process group of its own (job control on while it starts), so that an interrupt reaches
    # every xdist worker and control plane; without job control bash would start it with SIGINT
    # ignored. SIGINT lets pytest run its finalizers (they stop the control planes and remove their
    # folders). The stage notes its own duration (it may end long before the real pods do).
    set -m
    nice -n "$NICENESS" bash -c 'began=$(date +%s); "${@:2}"; rc=$?; echo $(( $(date +%s) - began )) >"$1.seconds"; exit $rc' \
        static "$log" "${STATIC_TESTS[@]}" >"$log" 2>&1 &
    static_pid=$!
    set +m
    trap 'kill -INT -- -"$static_pid" 2>/dev/null; wait "$static_pid"; rm -f "$log" "$log.seconds"; exit 130' INT TERM
    echo "make test: the static and kwok tests run beside the real pods (nice $NICENESS, log $log)"
    real_pod_tests; real_rc=$?; real_s=$(( $(date +%s) - began ))
    echo "make test: real pods done after ${real_s}s; waiting for the static and kwok tests"
    wait "$static_pid"; static_rc=$?
    static_s=$(cat "$log.seconds" 2>/dev/null || echo "?")
    trap - INT TERM
    echo "================ the static and kwok tests (run beside the real pods) ================"
    cat "$log"
    rm -f "$log" "$log.seconds"
fi

verdict "the static and kwok tests" "$static_rc" "$static_s"
verdict "the real-pods tests" "$real_rc" "$real_s"
mode=$([ "$CONCURRENT" = 0 ] && echo "one after the other" || echo "at once")
echo "make test: both stages ($mode) took $(( $(date +%s) - began ))s"
[ "$static_rc" -eq 0 ] && [ "$real_rc" -eq 0 ]
