# demo test: feature flags (takes about 0.1 s)
sleep 0.1
[ $((13 + 1)) -eq 14 ] || { echo "feature_flags: arithmetic is broken"; exit 1; }
