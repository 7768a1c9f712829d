#!/bin/sh
# The demo suite's test runner: runs each test file it is given with sh,
# prints one line per test, and appends "<test> <milliseconds>" to
# $DEMO_TIMES_LOG so the demo can compare the makespan with the lower bound.
# It exits 1 if any test failed, as a real runner would.
status=0
for test in "$@"; do
    start=$(date +%s%N)
    if sh "$test"; then result=ok; else result=FAILED; status=1; fi
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    echo "  $result $test (${ms} ms)"
    if [ -n "${DEMO_TIMES_LOG:-}" ]; then
        echo "$test $ms" >> "$DEMO_TIMES_LOG"
    fi
done
exit $status
