"""Headless Chromium (the Debian ``chromium`` binary) driven over the DevTools pipe.

``--remote-debugging-pipe`` makes Chromium read DevTools commands from fd 3 and write
replies to fd 4 (JSON messages ended by a NUL byte), so one browser shoots every page
and the boxes read back from the DOM come from the very layout that was photographed —
no websocket client, no browser download.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile


class Chrome:
    def __init__(self, binary: str | None = None):
        binary = binary or shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise SystemExit("chromium not found (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="ocr-real-chrome-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        # Chromium expects its end of the pipes as fds 3 (commands in) and 4 (replies out).
        def place_fds():  # via high fds, in case one of the pipe ends already is 3 or 4
            os.dup2(to_chrome_r, 100)
            os.dup2(from_chrome_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-pipe", "--no-first-run", "--disable-extensions", "--font-render-hinting=none",
             f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=place_fds, pass_fds=(3, 4, to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def _read_message(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_event(self, name: str) -> None:
        while True:
            msg = self._read_message()
            if msg.get("method") == name:
                return

    def shoot(self, html_path: str, width: int, scale: float, js: str, max_height: int = 2400,
              height_js: str = "Math.ceil(document.getElementById('page').getBoundingClientRect().bottom)"):
        """Load ``html_path`` at ``width`` CSS px and ``scale`` → (PNG bytes, value of ``js``, height CSS px)."""
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=600,
                  deviceScaleFactor=scale, mobile=False)
        self.call("Page.navigate", session=True, url="file://" + os.path.abspath(html_path))
        self.wait_event("Page.loadEventFired")
        self.call("Runtime.evaluate", session=True, expression="document.fonts.ready", awaitPromise=True)
        height = self.call("Runtime.evaluate", session=True, returnByValue=True,
                           expression=height_js)["result"]["value"]
        height = int(min(height, max_height))
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=scale, mobile=False)
        value = self.call("Runtime.evaluate", session=True, expression=js, returnByValue=True)["result"]["value"]
        png = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        return base64.b64decode(png), value, height

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self.profile, ignore_errors=True)
