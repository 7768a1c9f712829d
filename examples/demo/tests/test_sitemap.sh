# demo test: sitemap (takes about 0.2 s)
sleep 0.2
[ $((7 + 2)) -eq 9 ] || { echo "sitemap: arithmetic is broken"; exit 1; }
