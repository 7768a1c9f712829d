# demo test: login (takes about 0.5 s)
sleep 0.5
[ $((5 + 5)) -eq 10 ] || { echo "login: arithmetic is broken"; exit 1; }
