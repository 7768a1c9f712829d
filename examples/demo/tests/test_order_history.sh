# demo test: order history (takes about 0.4 s)
sleep 0.4
[ $((13 + 4)) -eq 17 ] || { echo "order_history: arithmetic is broken"; exit 1; }
