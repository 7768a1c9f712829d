# demo test: invoice pdf (takes about 0.8 s)
sleep 0.8
[ $((11 + 8)) -eq 19 ] || { echo "invoice_pdf: arithmetic is broken"; exit 1; }
