# demo test: cookie banner (takes about 0.1 s)
sleep 0.1
[ $((13 + 1)) -eq 14 ] || { echo "cookie_banner: arithmetic is broken"; exit 1; }
