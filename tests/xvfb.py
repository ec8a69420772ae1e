"""A real X display for headed tests: Xvfb (Debian package xvfb), its framebuffer, and XTest key presses.

xvfb_display: a fixture starting `Xvfb -displayfd` (Xvfb picks a free display
number and writes it to us) with `-fbdir`, so the screen can be read back as
the XWD file Xvfb keeps up to date there. Skips when Xvfb is not installed
(`make setup` installs it as root on Debian).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SCREEN = (1600, 1000)  # wide enough for the 1280 px browser window and Playwright's inspector beside it
KEYSYMS = {"F8": 0xFFC5, "Return": 0xFF0D}


@dataclass
class Display:
    name: str       # ":N", for DISPLAY
    fbdir: Path     # Xvfb_screen0 (XWD) lives here

    def env(self, **extra) -> dict:
        return {**os.environ, "DISPLAY": self.name, **extra}

    def screen(self) -> np.ndarray:
        """The screen now, as an RGB array (height, width, 3), from Xvfb's XWD framebuffer file."""
        data = (self.fbdir / "Xvfb_screen0").read_bytes()
        fields = struct.unpack(">25I", data[:100])  # XWDFileHeader: 25 big-endian CARD32
        header, width, height, bits, bytes_per_line, ncolors = (fields[0], fields[4], fields[5], fields[11],
                                                                fields[12], fields[19])
        assert bits == 32 and fields[7] == 0, "expected 32-bit LSB-first pixels (Xvfb -screen WxHx24)"
        pixels = np.frombuffer(data, dtype=np.uint8, offset=header + 12 * ncolors, count=bytes_per_line * height)
        return pixels.reshape(height, bytes_per_line // 4, 4)[:, :width, 2::-1]  # BGRX -> RGB

    def press(self, key: str, at: tuple[int, int]) -> None:
        """Move the pointer to `at` and press `key` there (XTest; with no window manager, focus follows
        the pointer)."""
        x11, xtst = ctypes.CDLL("libX11.so.6"), ctypes.CDLL("libXtst.so.6")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_ulong]
        xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        display = x11.XOpenDisplay(self.name.encode())
        assert display, f"cannot open X display {self.name}"
        try:
            code = x11.XKeysymToKeycode(display, KEYSYMS[key])
            xtst.XTestFakeMotionEvent(display, -1, at[0], at[1], 0)
            x11.XFlush(display)
            xtst.XTestFakeKeyEvent(display, code, 1, 0)
            xtst.XTestFakeKeyEvent(display, code, 0, 30)
            x11.XFlush(display)
        finally:
            x11.XCloseDisplay(display)


@pytest.fixture(scope="session")
def xvfb_display(tmp_path_factory):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb; `make setup` does it as root)")
    fbdir = tmp_path_factory.mktemp("xvfb")
    read, write = os.pipe()
    process = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                                "-fbdir", str(fbdir), "-nolisten", "tcp"], pass_fds=(write,),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        number = b""
        deadline = time.monotonic() + 10
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
        assert number.strip(), "Xvfb did not say which display it took"
        yield Display(f":{number.decode().strip()}", fbdir)
    finally:
        os.close(read)
        process.terminate()
        process.wait(timeout=10)
