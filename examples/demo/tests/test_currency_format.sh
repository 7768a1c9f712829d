# demo test: currency format (takes about 0.3 s)
sleep 0.3
[ $((15 + 3)) -eq 18 ] || { echo "currency_format: arithmetic is broken"; exit 1; }
