# demo test: csrf token (takes about 0.2 s)
sleep 0.2
[ $((10 + 2)) -eq 12 ] || { echo "csrf_token: arithmetic is broken"; exit 1; }
