#!/usr/bin/env bash
# The demo's steps, the main job on the embedded defaults: read the example pages into the SQLite
# store (subscribers/), run their week as an editor would name it (summaries from the bundled local
# model, the draft frozen into outbox/WEEK/), and show where the week stands. No editor has
# approved the draft yet, so `run` ends waiting for approval (exit 4), which is the demo's
# expected end. A named week is built however long ago it was, so this works on any date.
#
#   scripts/demo.sh NEWSLETTER_BINARY [WEEK]       (run from the directory holding examples/ and templates/)
set -euo pipefail
bin=${1:?usage: scripts/demo.sh NEWSLETTER_BINARY [WEEK]}
week=${2:-2026-W47}

"$bin" ingest examples/
status=0
"$bin" run --week "$week" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 4 ]; then
    echo "demo: newsletter run exited $status" >&2
    exit "$status"
fi
"$bin" status --week "$week"
echo "demo: the draft is in outbox/$week/ (preview.html, preview.txt, issue.json)"
echo "demo: approve it with \`newsletter approve --week $week\` and send it with \`newsletter send --week $week\`;"
echo "demo: after the send, \`newsletter report --week $week\` (or /editor/issues/$week/report under \`newsletter serve\`)"
echo "demo: shows what became of it: deliveries, bounces, complaints, unsubscribes, clicks and the send over time"
