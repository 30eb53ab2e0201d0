"""Headless Chromium, driven as a person would use it (open a page, read it, click, type),
through chromedriver's W3C WebDriver protocol: JSON over HTTP, so the standard library is
enough. Debian packages chromium and chromium-driver (`make deps` installs both).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
START_S = 20.0          # chromedriver prints its port
CALL_S = 60.0           # one WebDriver command (the first starts Chromium)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"   # the W3C key of an element reference


def missing() -> str:
    """Why no browser test can run here, or "" when one can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return f"{path} is not installed (make deps installs chromium and chromium-driver)"
    return ""


class Browser:
    """One headless Chromium session; close() ends it and chromedriver's whole group."""

    def __init__(self, profile: Path) -> None:
        self._driver = subprocess.Popen([CHROMEDRIVER, "--port=0"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self._session = ""
        try:
            self._base = f"http://127.0.0.1:{self._read_port()}"
            args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", f"--user-data-dir={profile}"]
            if os.geteuid() == 0:
                args.append("--no-sandbox")    # Chromium refuses to run as root with one
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
            self._session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.close()
            raise

    def _read_port(self) -> int:
        """chromedriver's real port, from the line it prints once it listens."""
        assert self._driver.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self._driver.stdout, selectors.EVENT_READ)
        deadline, seen = time.monotonic() + START_S, b""
        while time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                chunk = os.read(self._driver.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
                match = re.search(rb"started successfully on port (\d+)", seen)
                if match:
                    return int(match.group(1))
        raise RuntimeError(f"chromedriver printed no port within {START_S} s: {seen!r}")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self._base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=CALL_S) as reply:
                return json.loads(reply.read())["value"]
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"WebDriver {method} {path}: {err.read().decode()[:500]}") from None

    def _session_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self._session}{path}", body)

    def open(self, url: str) -> None:
        self._session_call("POST", "/url", {"url": url})

    def url(self) -> str:
        return str(self._session_call("GET", "/url"))

    def find_all(self, css: str, within: str | None = None) -> list[str]:
        """The elements matching a CSS selector, in document order (within one element)."""
        base = f"/element/{within}" if within else ""
        found = self._session_call("POST", f"{base}/elements", {"using": "css selector", "value": css})
        return [element[ELEMENT] for element in found]

    def find(self, css: str, within: str | None = None) -> str:
        found = self.find_all(css, within)
        assert found, f"no element matches {css!r}"
        return found[0]

    def text(self, element: str) -> str:
        """The text a person sees in the element (nothing of what is hidden)."""
        return str(self._session_call("GET", f"/element/{element}/text"))

    def attribute(self, element: str, name: str) -> str | None:
        return self._session_call("GET", f"/element/{element}/attribute/{name}")

    def displayed(self, element: str) -> bool:
        return bool(self._session_call("GET", f"/element/{element}/displayed"))

    def size(self, element: str) -> tuple[float, float]:
        rect = self._session_call("GET", f"/element/{element}/rect")
        return rect["width"], rect["height"]

    def click(self, element: str) -> None:
        self._session_call("POST", f"/element/{element}/click")

    def type(self, element: str, text: str) -> None:
        self._session_call("POST", f"/element/{element}/value", {"text": text})

    def close(self) -> None:
        try:
            if self._session:
                self._session_call("DELETE", "")
        except (OSError, RuntimeError):
            pass        # chromedriver is ended below in any case
        finally:
            try:
                os.killpg(self._driver.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._driver.wait()
            if self._driver.stdout:
                self._driver.stdout.close()
