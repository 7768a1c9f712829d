# demo test: email templates (takes about 0.3 s)
sleep 0.3
[ $((15 + 3)) -eq 18 ] || { echo "email_templates: arithmetic is broken"; exit 1; }
