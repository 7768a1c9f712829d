# demo test: rate limit (takes about 0.3 s)
sleep 0.3
[ $((10 + 3)) -eq 13 ] || { echo "rate_limit: arithmetic is broken"; exit 1; }
