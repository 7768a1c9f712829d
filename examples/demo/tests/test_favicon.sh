# demo test: favicon (takes about 0.1 s)
sleep 0.1
[ $((7 + 1)) -eq 8 ] || { echo "favicon: arithmetic is broken"; exit 1; }
