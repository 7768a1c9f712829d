# demo test: coupon rules (takes about 0.6 s)
sleep 0.6
[ $((12 + 6)) -eq 18 ] || { echo "coupon_rules: arithmetic is broken"; exit 1; }
