#!/bin/sh
# The demo suite's test runner: runs each test file it is given with sh,
# prints one line per test, and appends "<test> <milliseconds>" to
# $DEMO_TIMES_LOG so the demo can compare the makespan with the lower bound.
# With "--junit FILE" first it also writes a JUnit report of its tests to
# FILE, as real runners do, so satchel learns each test's own time and the
# runner's start-up (without one it knows only each batch's wall time).
# It exits 1 if any test failed, as a real runner would.
report=""
if [ "${1:-}" = "--junit" ]; then
    [ $# -ge 2 ] || { echo "run-tests.sh: --junit needs a file" >&2; exit 2; }
    report=$2
    shift 2
fi
status=0
cases=""
failures=0
for test in "$@"; do
    start=$(date +%s%N)
    if sh "$test"; then result=ok; else result=FAILED; status=1; fi
    end=$(date +%s%N)
    ms=$(( (end - start) / 1000000 ))
    echo "  $result $test (${ms} ms)"
    if [ -n "${DEMO_TIMES_LOG:-}" ]; then
        echo "$test $ms" >> "$DEMO_TIMES_LOG"
    fi
    # The demo's file names need no XML escaping.
    time=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    close='/>'
    if [ "$result" != ok ]; then
        failures=$((failures + 1))
        close='><failure message="exit status not 0"/></testcase>'
    fi
    cases="$cases  <testcase classname=\"demo\" name=\"$test\" file=\"$test\" time=\"$time\"$close
"
done
if [ -n "$report" ]; then
    {
        echo '<?xml version="1.0" encoding="UTF-8"?>'
        echo "<testsuite name=\"demo\" tests=\"$#\" failures=\"$failures\">"
        printf '%s' "$cases"
        echo '</testsuite>'
    } > "$report"
fi
exit $status
