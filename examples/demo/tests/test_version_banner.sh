# demo test: version banner (takes about 0.1 s)
sleep 0.1
[ $((14 + 1)) -eq 15 ] || { echo "version_banner: arithmetic is broken"; exit 1; }
