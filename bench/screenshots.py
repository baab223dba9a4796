"""Screenshots of ``kg serve``'s pages for the README (docs/img/), taken in headless Chromium.

Starts the real ``kg serve`` on the project (the shipped graph by default), runs the
query page's example query with Ctrl+Enter, and saves the page with its results, then a
state's timeline, each 1280x800:

    python bench/screenshots.py                 # writes docs/img/kg-serve.png, kg-timeline.png
    python bench/screenshots.py --project DIR --out /tmp/shots
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE), str(HERE / "src")]

from tests.serving import serving  # noqa: E402
from tests.test_browser import browser  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=HERE)
    parser.add_argument("--out", type=Path, default=HERE / "docs" / "img")
    parser.add_argument("--state", default="azerbaijan", help="the timeline's state (its path)")
    args = parser.parse_args()

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    args.out.mkdir(parents=True, exist_ok=True)
    with serving(args.project, "--workers", "2") as url, tempfile.TemporaryDirectory() as tmp:
        driver = browser(Path(tmp))
        try:
            metrics = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            driver.get(url + "/")
            driver.find_element(By.ID, "query").send_keys(Keys.CONTROL, Keys.ENTER)
            WebDriverWait(driver, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#results tbody tr")
            )
            hide = "document.documentElement.style.overflow = 'hidden'"
            driver.execute_script("document.activeElement.blur(); " + hide)
            driver.save_screenshot(str(args.out / "kg-serve.png"))
            driver.get(f"{url}/timeline/{args.state}")
            driver.execute_script(hide)
            driver.save_screenshot(str(args.out / "kg-timeline.png"))
        finally:
            driver.quit()
    print(f"wrote {args.out / 'kg-serve.png'} and {args.out / 'kg-timeline.png'}")


if __name__ == "__main__":
    main()
