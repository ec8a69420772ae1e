"""Make sure a Chromium (and fonts, emoji included, and Xvfb) is there for bench; idempotent.

Order: a Chromium bench can already find (BENCH_CHROMIUM, Playwright's own,
chromium on PATH) -> done. Else, as root on Debian/Ubuntu: apt-get install
chromium and fonts. Else: `python -m playwright install chromium`.
Fonts are checked on their own: a found Chromium without an emoji font still
gets the fonts installed when apt is usable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Fonts that make the corpus render as a user would see it: Latin, many
# scripts, CJK and colour emoji.
APT_FONTS = ["fonts-dejavu-core", "fonts-noto-core", "fonts-noto-cjk", "fonts-noto-color-emoji"]
APT_BROWSER = ["chromium"]
# Headed runs (`bench ui --headed`) on a machine without a display, and the headed tests: xvfb-run / Xvfb.
APT_HEADED = ["xvfb"]


def found_chromium() -> str | None:
    from playwright.sync_api import sync_playwright

    from bench.browser.launch import find_chromium
    from bench.errors import BenchError

    try:
        with sync_playwright() as p:
            return find_chromium(None, p)
    except BenchError:
        return None


def apt_usable() -> bool:
    return shutil.which("apt-get") is not None and hasattr(os, "geteuid") and os.geteuid() == 0


def missing_apt_packages(packages: list[str]) -> list[str]:
    missing = []
    for pkg in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    return missing


def apt_install(packages: list[str]) -> None:
    print(f"ensure_chromium: apt-get install {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> int:
    path = found_chromium()
    wanted = APT_FONTS + APT_HEADED + ([] if path else APT_BROWSER)
    if apt_usable():
        missing = missing_apt_packages(wanted)
        if missing:
            apt_install(missing)
        path = path or found_chromium()
    if not path:
        print("ensure_chromium: python -m playwright install chromium", flush=True)
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
        path = found_chromium()
    if not path:
        print("ensure_chromium: no Chromium could be installed; set BENCH_CHROMIUM", file=sys.stderr)
        return 3
    print(f"ensure_chromium: using {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
