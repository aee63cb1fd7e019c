#!/bin/sh
# A command-mode handler for `qscale worker`:
#
#   qscale worker --queue-url URL -- examples/handlers/handler.sh
#
# The message body is on stdin; its id, receive count and attributes are in
# QSCALE_* variables. Exit 0 and the message is deleted; exit non-zero and it
# is retried after a backoff (and goes to the dead-letter queue once the
# queue's maxReceiveCount is reached).
set -eu
body=$(cat)
echo "message $QSCALE_MESSAGE_ID (delivery $QSCALE_RECEIVE_COUNT): $body"
if [ -n "${QSCALE_MSGATTR_color:-}" ]; then
  echo "  color attribute: $QSCALE_MSGATTR_color"
fi
case "$body" in
  *fail*) echo "  refusing it" >&2; exit 1 ;;
esac
