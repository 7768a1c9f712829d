# demo test: cart totals (takes about 0.7 s)
sleep 0.7
[ $((11 + 7)) -eq 18 ] || { echo "cart_totals: arithmetic is broken"; exit 1; }
