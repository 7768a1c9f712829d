# demo test: robots txt (takes about 0.2 s)
sleep 0.2
[ $((10 + 2)) -eq 12 ] || { echo "robots_txt: arithmetic is broken"; exit 1; }
