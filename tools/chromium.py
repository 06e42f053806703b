"""A headless Chromium driven over the DevTools protocol (a websocket: no WebDriver, no Node), for
tests that must see what a browser renders (tests/browser) and for tools/admin_screenshots.py: pages
loaded, scripts run, clicks, screenshots, an admin login."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = "Chromium is needed for the browser tests: apt-get install chromium (Debian)"


def chromium_path() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One page target: ``call`` a DevTools method, ``evaluate`` JavaScript, wait for a condition."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or expression}")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def open(self, url: str, *, timeout: float = 30.0) -> None:
        """Navigate to ``url`` and wait until the new document has loaded."""
        self.navigating(f"location.href = {json.dumps(url)}", timeout=timeout)

    def navigating(self, action: str, *, timeout: float = 30.0) -> None:
        """Run a script that leaves the page (a form submit, a link click) and wait for the next page to load.

        The old document is marked first: until the mark is gone, a "complete" document is still the old one.
        """
        self.evaluate("window.__leaving = true")
        self.evaluate(f"setTimeout(() => {{ {action}; }}, 0)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate("!window.__leaving && document.readyState === 'complete'"):
                    return
            except RuntimeError:
                pass  # the old document's context went away while the script ran
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for the page after {action}")

    def screenshot_png(self, *, full_page: bool = False) -> bytes:
        """The viewport (or the whole page, as tall as its content) as PNG bytes."""
        if not full_page:
            return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)["data"]
        return base64.b64decode(data)

    def screenshot(self):
        """The viewport as a Pillow image."""
        from PIL import Image

        return Image.open(io.BytesIO(self.screenshot_png())).convert("RGB")

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for since Network.enable (events read so far)."""
        self.evaluate("1")  # drain: events that arrived before now are read with this reply
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]


class LoginFailed(RuntimeError):
    pass


def admin_login(page: Page, base_url: str, *, username: str, password: str) -> None:
    """Sign in to the Django admin at ``base_url`` through its login form (as a person would)."""
    page.open(f"{base_url.rstrip('/')}/admin/login/?next=/admin/")
    page.navigating(
        "const form = document.querySelector('#login-form');"
        f"form.querySelector('#id_username').value = {json.dumps(username)};"
        f"form.querySelector('#id_password').value = {json.dumps(password)};"
        "form.submit()"
    )
    if page.evaluate("!!document.querySelector('#login-form')"):
        shown = page.evaluate("(document.querySelector('.errornote') || {}).textContent || ''").strip()
        raise LoginFailed(f"the admin login as {username!r} failed: {shown or 'still on the login page'}")


@contextmanager
def chromium_page(*, width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """A fresh headless Chromium (its own profile) with one page, closed afterwards."""
    path = chromium_path()
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                path,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes go with it
        )
        try:
            port = _debugging_port(Path(profile) / "DevToolsActivePort", process)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = json.load(answer)
            page_target = next(target for target in targets if target.get("type") == "page")
            with connect(page_target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024) as socket:
                page = Page(socket)
                page.call("Page.enable")
                page.call("Network.enable")
                page.call(
                    "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
                )
                yield page
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue


def _debugging_port(marker: Path, process: subprocess.Popen, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode} before it was ready")
        if marker.exists():
            lines = marker.read_text().splitlines()
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
        time.sleep(0.05)
    raise RuntimeError("Chromium did not open its debugging port")


def not_blank(image, *, min_colours: int = 16, min_ink: float = 0.02) -> tuple[bool, str]:
    """Whether a screenshot shows something: enough distinct colours and enough non-white pixels."""
    small = image.resize((image.width // 4, image.height // 4))
    pixels = list(small.getdata())
    colours = len(set(pixels))
    ink = sum(1 for r, g, b in pixels if min(r, g, b) < 230) / len(pixels)
    return colours >= min_colours and ink >= min_ink, f"{colours} colours, {ink:.1%} ink"
