"""The report in a real browser: headless Chromium draws every figure, logs no error and requests nothing.

Selenium drives Debian's /usr/bin/chromium through /usr/bin/chromedriver, given explicitly so Selenium
never downloads a driver. Chrome's performance log records every request the page makes (DevTools
``Network.requestWillBeSent``); its browser log holds console errors. Under ``CI=true`` the test must run
(``.ci/run`` installs Chromium); elsewhere it is skipped when Chromium is not installed.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from outagesim import write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _browser():
    """A headless Chromium with console and network logging; skips outside CI when it is not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing and not IN_CI:
        pytest.skip(f"Chromium not installed ({', '.join(missing)} missing; "
                    "apt-get install chromium chromium-driver); CI=true makes this a failure")
    assert not missing, f"CI=true but {', '.join(missing)} missing: .ci/run should install chromium chromium-driver"
    if not IN_CI:
        pytest.importorskip("selenium", reason="selenium not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--window-size=1280,1800", "--disable-background-networking", "--disable-component-update",
                "--disable-extensions", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _requests(driver) -> list[str]:
    """URLs of every request the page made, from the DevTools network events in the performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _not_blank(png: bytes) -> tuple[float, int]:
    """Share of pixels that are not near-white, and how many distinct colours the image has."""
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    inked = float((pixels.min(axis=1) < 235).mean())
    return inked, len(np.unique(pixels.astype(np.int64) @ [65536, 256, 1]))


def test_the_report_renders_offline_in_chromium(storm_dir, tmp_path):
    """Opened from disk, the page draws all five figures, the graph's slider frames play, the console has no
    errors, the only requests are the page itself and inline data: URLs, and the screenshot is not blank."""
    page = write_report(storm_dir, tmp_path / "report.html")
    driver = _browser()
    try:
        driver.get(page.resolve().as_uri())
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ready = driver.execute_script("return document.body && document.body.getAttribute('data-ready')")
            if ready:
                break
            time.sleep(0.2)
        assert ready == "1", f"figures not drawn: data-ready={ready!r}"
        drawn = driver.execute_script(
            "return Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => d.id)")
        assert drawn == ["timeline", "health", "graph", "variants", "variant-goodput"]
        colours = driver.execute_async_script("""
            var done = arguments[arguments.length - 1], gd = document.getElementById('graph');
            var nodes = gd.data.findIndex(function (t) { return t.mode === 'markers+text'; });
            Plotly.animate(gd, ['0'], {mode: 'immediate', frame: {duration: 0}, transition: {duration: 0}})
              .then(function () { done([gd._transitionData._frames.length, gd.data[nodes].marker.color]); });
        """)
        frames, frame0 = colours
        assert frames >= 2 and frame0 and all(c.startswith("#") for c in frame0)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        requests = _requests(driver)
        assert page.resolve().as_uri() in requests
        assert [u for u in requests if u != page.resolve().as_uri() and not u.startswith(("data:", "blob:"))] == []
        inked, distinct = _not_blank(driver.get_screenshot_as_png())
        assert inked > 0.03 and distinct > 30, (inked, distinct)
    finally:
        driver.quit()
