# demo test: user signup (takes about 1.0 s)
sleep 1.0
[ $((11 + 10)) -eq 21 ] || { echo "user_signup: arithmetic is broken"; exit 1; }
