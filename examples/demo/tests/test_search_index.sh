# demo test: search index (takes about 1.6 s)
sleep 1.6
[ $((12 + 16)) -eq 28 ] || { echo "search_index: arithmetic is broken"; exit 1; }
