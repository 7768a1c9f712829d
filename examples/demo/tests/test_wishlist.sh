# demo test: wishlist (takes about 0.3 s)
sleep 0.3
[ $((8 + 3)) -eq 11 ] || { echo "wishlist: arithmetic is broken"; exit 1; }
