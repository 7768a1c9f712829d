# demo test: profile edit (takes about 0.4 s)
sleep 0.4
[ $((12 + 4)) -eq 16 ] || { echo "profile_edit: arithmetic is broken"; exit 1; }
