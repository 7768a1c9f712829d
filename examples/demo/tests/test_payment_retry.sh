# demo test: payment retry (takes about 0.9 s)
sleep 0.9
[ $((13 + 9)) -eq 22 ] || { echo "payment_retry: arithmetic is broken"; exit 1; }
