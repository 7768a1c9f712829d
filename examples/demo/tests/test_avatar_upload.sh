# demo test: avatar upload (takes about 0.4 s)
sleep 0.4
[ $((13 + 4)) -eq 17 ] || { echo "avatar_upload: arithmetic is broken"; exit 1; }
