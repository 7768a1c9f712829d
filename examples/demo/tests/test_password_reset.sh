# demo test: password reset (takes about 0.5 s)
sleep 0.5
[ $((14 + 5)) -eq 19 ] || { echo "password_reset: arithmetic is broken"; exit 1; }
