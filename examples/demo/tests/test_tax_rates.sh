# demo test: tax rates (takes about 0.6 s)
sleep 0.6
[ $((9 + 6)) -eq 15 ] || { echo "tax_rates: arithmetic is broken"; exit 1; }
