# demo test: report export (takes about 1.2 s)
sleep 1.2
[ $((13 + 12)) -eq 25 ] || { echo "report_export: arithmetic is broken"; exit 1; }
