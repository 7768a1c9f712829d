# demo test: session expiry (takes about 0.2 s)
sleep 0.2
[ $((14 + 2)) -eq 16 ] || { echo "session_expiry: arithmetic is broken"; exit 1; }
