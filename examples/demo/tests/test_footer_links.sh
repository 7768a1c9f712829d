# demo test: footer links (takes about 0.1 s)
sleep 0.1
[ $((12 + 1)) -eq 13 ] || { echo "footer_links: arithmetic is broken"; exit 1; }
