# demo test: health check (takes about 0.2 s)
sleep 0.2
[ $((12 + 2)) -eq 14 ] || { echo "health_check: arithmetic is broken"; exit 1; }
