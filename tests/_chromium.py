"""A headless Chromium driven over the DevTools protocol, for the demo's browser test.

No driver and no pip package: Chromium's `--remote-debugging-pipe` speaks the protocol as
JSON messages ended by a NUL byte, reading them on file descriptor 3 and writing on 4.
`Chromium` opens one page and offers what the test needs: navigate, evaluate JavaScript,
wait for a condition, pick files in an <input type=file>, and take a screenshot.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# --headless=new runs the full browser without a display; SwiftShader gives WebGL on a CPU.
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
)

# argv: READ_FD WRITE_FD BINARY ARGS...: dup READ_FD to 3 and WRITE_FD to 4, then exec BINARY.
_FD_SHIM = """
import os, sys
read_fd, write_fd = (os.dup(int(fd)) for fd in sys.argv[1:3])
for fd in map(int, sys.argv[1:3]):
    os.close(fd)
os.dup2(read_fd, 3)
os.dup2(write_fd, 4)
for fd in (read_fd, write_fd):
    if fd not in (3, 4):
        os.close(fd)
for fd in (3, 4):
    os.set_inheritable(fd, True)
os.execv(sys.argv[3], sys.argv[3:])
"""


def find_chromium() -> Optional[str]:
    """The path of a Chromium or Chrome binary on PATH, or None."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


class ChromiumError(RuntimeError):
    """The browser answered a command with an error, died, or a wait timed out."""


class Chromium:
    """One headless browser with one page of `width` x `height` CSS pixels."""

    def __init__(self, binary: str, width: int = 1280, height: int = 860, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="im2avatar-chromium-")
        self._log = tempfile.TemporaryFile()  # the browser's stderr, for error messages
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # A tiny Python shim puts our pipe ends on fds 3 and 4, where Chromium expects them.
        self._process = subprocess.Popen(
            [sys.executable, "-c", _FD_SHIM, str(to_browser_r), str(from_browser_w), binary,
             *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
             "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        try:
            target = self.send("Target.createTarget", url="about:blank", session=False)
            attached = self.send("Target.attachToTarget", targetId=target["targetId"],
                                 flatten=True, session=False)
            self.session = attached["sessionId"]
            self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise

    # The protocol ------------------------------------------------------------------------
    def send(self, method: str, session: bool = True, **params) -> dict:
        """Run one protocol command on the page (or on the browser: session=False) and
        return its result; events that arrive meanwhile are dropped."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise ChromiumError("the browser did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ChromiumError(f"the browser exited: {self._stderr_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    # What the test does ----------------------------------------------------------------
    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (awaited if it is a promise)."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True)
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ChromiumError(f"{expression!r} raised {text}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: Optional[float] = None, poll: float = 0.1):
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise ChromiumError(f"timed out waiting for {expression!r}")
            time.sleep(poll)

    def set_files(self, selector: str, *paths: str) -> None:
        """Choose files in the <input type=file> matching `selector`, as a user would
        (the page gets its `input` and `change` events)."""
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        if not node:
            raise ChromiumError(f"no element matches {selector!r}")
        self.send("DOM.setFileInputFiles", nodeId=node, files=[os.path.abspath(p) for p in paths])

    def screenshot(self) -> bytes:
        """The page as PNG bytes (what a user sees, WebGL canvases included)."""
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self.send("Browser.close", session=False)
                self._process.wait(timeout=10)
            except (ChromiumError, OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
