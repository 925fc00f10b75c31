#!/usr/bin/env bash
# Start main.py on Xvfb with the xcb platform, wait until its window is mapped,
# take a screenshot of the screen, close the app, and check it exited 0.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SMOKE_DIR:-/tmp/mowen-smoke}
mkdir -p "$out"
display=:$(( 90 + RANDOM % 100 ))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY=$display QT_QPA_PLATFORM=xcb XDG_CONFIG_HOME="$out/config"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

.venv/bin/python main.py >"$out/app.log" 2>&1 &
app=$!
mapped=""
for _ in $(seq 300); do
  if xwininfo -root -tree 2>/dev/null | grep -q '"墨文 Mowen"'; then mapped=yes; break; fi
  kill -0 $app 2>/dev/null || break
  sleep 0.1
done
if [ -z "$mapped" ]; then echo "smoke: the window never appeared"; cat "$out/app.log"; exit 1; fi
sleep 3  # let the deferred tabs and the device probe finish
.venv/bin/python - "$out/screen.png" <<'PY'
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
image = app.primaryScreen().grabWindow(0)
assert image.save(sys.argv[1]), "could not save the screenshot"
print(f"smoke: screenshot {sys.argv[1]} {image.width()}x{image.height()}")
PY
# Ask the app to quit the way a session manager does (SIGTERM): it closes its window,
# cancels running jobs and must exit 0.
kill -TERM $app
code=0; wait $app || code=$?
if [ "$code" != 0 ]; then echo "smoke: app exited with $code"; cat "$out/app.log"; exit 1; fi
echo "smoke: ok (window mapped, screenshot taken, clean exit)"
