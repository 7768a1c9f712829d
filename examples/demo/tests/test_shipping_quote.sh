# demo test: shipping quote (takes about 0.3 s)
sleep 0.3
[ $((14 + 3)) -eq 17 ] || { echo "shipping_quote: arithmetic is broken"; exit 1; }
