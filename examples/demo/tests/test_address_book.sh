# demo test: address book (takes about 0.4 s)
sleep 0.4
[ $((12 + 4)) -eq 16 ] || { echo "address_book: arithmetic is broken"; exit 1; }
