# demo test: checkout flow (takes about 2.0 s)
sleep 2.0
[ $((13 + 20)) -eq 33 ] || { echo "checkout_flow: arithmetic is broken"; exit 1; }
