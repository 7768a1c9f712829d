# demo test: locale switch (takes about 0.2 s)
sleep 0.2
[ $((13 + 2)) -eq 15 ] || { echo "locale_switch: arithmetic is broken"; exit 1; }
