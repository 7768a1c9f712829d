# demo test: logout (takes about 0.5 s)
sleep 0.5
[ $((6 + 5)) -eq 11 ] || { echo "logout: arithmetic is broken"; exit 1; }
