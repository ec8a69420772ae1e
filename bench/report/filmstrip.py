"""Filmstrip: what the user saw during one burst, a frame every INTERVAL ms, laid out in one PNG.

Capture: CDP Page.startScreencast sends every frame the compositor draws while
something changes (a JPEG each), with `metadata.timestamp`, the wall-clock
second the frame was drawn. performance.timeOrigin (epoch ms) turns that into
the page clock every other number uses; checked against
`monotonicTimestamp` - Performance.getMetrics' NavigationStart, the two
agree within 0.1 ms. The timestamp is the frame's begin time (like a rAF
timestamp): the frame reaches the screen up to one refresh later, which is
why a message's Element Timing paint time is a few ms after the frame that
shows it. page.screenshot in a loop was not used: each call forces a frame
of its own and returns at whatever time it gets done, not at fixed times.

Layout: t = 0 is the first message's arrival (t_recv); tile k shows the last
frame drawn at or before k x INTERVAL, from the frame before the burst to
one tile after its last message was painted (at most MAX_TILES tiles). A
frame is reused while nothing changes on screen, as the user would see it.

Chromium sends the next screencast frame only after the last one is
acknowledged, and the acknowledgement waits for Python; on a busy machine
frames drawn meanwhile are skipped, and when the skipped one was the last
(the screen then stops changing) no frame with the final state comes in
time for the last tile. (Restarting the screencast does send the frame on
screen, but stamped with the time of the restart, not of its drawing, so it
cannot stand in.) Then the filmstrip says in its title that its last tiles
may show an older frame, and the manifest has final_frame_captured false.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

# Frames at half the 1280x800 viewport: enough to see messages arrive, small to send.
SCREENCAST = {"format": "jpeg", "quality": 80, "maxWidth": 640, "maxHeight": 400, "everyNthFrame": 1}
FIRST_FRAME_TIMEOUT_MS = 2000
SETTLE_MS = 250
REFRESH_MS = 1000 / 60  # a paint's frame begins at most one refresh before the paint time
MAX_TILES = 24
TILE_WIDTH = 320
COLUMNS = 6
GUTTER = 8
LABEL_HEIGHT = 20
HEADER_HEIGHT = 26
BACKGROUND = (255, 255, 255)
TEXT = (32, 32, 32)


@dataclass(frozen=True)
class ScreenFrame:
    page_ms: float  # when the compositor drew it, page clock
    jpeg: bytes


@dataclass
class Screencast:
    """Page.startScreencast on a session's CDP connection; frames kept with their page-clock time."""

    session: object
    frames: list[ScreenFrame] = field(default_factory=list)

    def start(self) -> None:
        page, cdp = self.session.page, self.session.cdp
        origin_ms = page.evaluate("() => performance.timeOrigin")

        def on_frame(event) -> None:
            # Acknowledge at once: Chromium sends the next frame only after an ack.
            cdp.send("Page.screencastFrameAck", {"sessionId": event["sessionId"]})
            self.frames.append(ScreenFrame(event["metadata"]["timestamp"] * 1000 - origin_ms,
                                           base64.b64decode(event["data"])))

        self._on_frame = on_frame
        cdp.on("Page.screencastFrame", on_frame)
        self._start_and_wait()

    def _start_and_wait(self) -> None:
        """Start; Chromium sends the frame on screen at once: wait for it."""
        page = self.session.page
        self.session.cdp.send("Page.startScreencast", SCREENCAST)
        waited = 0
        while not self.frames and waited < FIRST_FRAME_TIMEOUT_MS:  # the frame on screen before anything
            page.wait_for_timeout(20)
            waited += 20

    def stop(self) -> None:
        cdp = self.session.cdp
        cdp.send("Page.stopScreencast")
        cdp.remove_listener("Page.screencastFrame", self._on_frame)


@dataclass(frozen=True)
class Tile:
    at_ms: float        # k x interval after the first message's arrival
    frame_ms: float     # when the frame shown was drawn, same origin
    frame: ScreenFrame


@dataclass
class BurstFilm:
    """One burst filmed: its per-message records (page clock), the frames, the tile interval."""

    records: list[dict]
    frames: list[ScreenFrame]
    interval_ms: float

    @property
    def start_ms(self) -> float | None:
        received = [r["recv"] for r in self.records if r.get("recv") is not None]
        return min(received) if received else None

    @property
    def end_ms(self) -> float | None:
        """The last message's paint (or DOM insertion, for one never painted)."""
        ends = [r["paint"] if r.get("paint") is not None else r.get("dom") for r in self.records]
        ends = [t for t in ends if t is not None]
        return max(ends) if ends else self.start_ms

    @property
    def final_frame_captured(self) -> bool:
        """The last tile shows a frame that began no earlier than one refresh before the last paint."""
        tiles = self.tiles()
        return bool(tiles) and self.start_ms + tiles[-1].frame_ms >= self.end_ms - REFRESH_MS

    def tile_count(self) -> int:
        """From t = 0 to the first tile at or after the last paint, plus one; at most MAX_TILES."""
        if self.start_ms is None or not self.frames:
            return 0
        span = self.end_ms - self.start_ms
        return min(MAX_TILES, math.floor(span / self.interval_ms) + 2)

    def tiles(self) -> list[Tile]:
        frames = sorted(self.frames, key=lambda f: f.page_ms)
        out = []
        for k in range(self.tile_count()):
            at = self.start_ms + k * self.interval_ms
            shown = [f for f in frames if f.page_ms <= at] or frames[:1]
            out.append(Tile(k * self.interval_ms, shown[-1].page_ms - self.start_ms, shown[-1]))
        return out


# The list at its newest message, as a user reading along has it: a chat app follows new messages only
# then (an earlier scroll scenario may have left it scrolled up, where the burst lands out of view).
TO_NEWEST_JS = """async (selector) => {
  const list = document.querySelector(selector);
  if (list) list.scrollTop = list.scrollHeight;
  for (let i = 0; i < 3; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
}"""


def film_burst(session, size: int, interval_ms: float, list_selector: str | None = None) -> BurstFilm:
    """Deliver one burst of `size` messages with the screencast on; not a measurement."""
    page = session.page
    page.evaluate(TO_NEWEST_JS, list_selector or session.target.list_selector)
    cast = Screencast(session)
    cast.start()
    try:
        messages = session.messages.take(size)
        tokens = [m.token for m in messages]
        session.injector.send(messages)
        session.paint.quiet(page, tokens, session.timeout_s)
        records = session.paint.take(page, tokens)
        # The last tile comes after the last paint; its frame (JPEG-encoded in the browser) must arrive too.
        page.wait_for_timeout(max(2 * interval_ms, SETTLE_MS))
    finally:
        cast.stop()
    return BurstFilm(records, list(cast.frames), interval_ms)


@dataclass(frozen=True)
class Layout:
    """Where each tile goes in the PNG: boxes (left, top, right, bottom) of the frame images."""

    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]


def layout(count: int, tile_size: tuple[int, int], columns: int = COLUMNS) -> Layout:
    tile_w, tile_h = tile_size
    cols = max(1, min(columns, count))
    rows = math.ceil(count / cols) if count else 0
    cell_h = LABEL_HEIGHT + tile_h + GUTTER
    boxes = []
    for k in range(count):
        row, col = divmod(k, cols)
        left = GUTTER + col * (tile_w + GUTTER)
        top = HEADER_HEIGHT + row * cell_h + LABEL_HEIGHT
        boxes.append((left, top, left + tile_w, top + tile_h))
    return Layout(GUTTER + cols * (tile_w + GUTTER), HEADER_HEIGHT + rows * cell_h + GUTTER, boxes)


def render(film: BurstFilm, title: str) -> tuple[Image.Image, Layout]:
    """The filmstrip PNG image and where its tiles are."""
    tiles = film.tiles()
    if not tiles:
        raise ValueError("no frame or no received message to make a filmstrip from")
    first = Image.open(io.BytesIO(tiles[0].frame.jpeg))
    tile_size = (TILE_WIDTH, round(first.height * TILE_WIDTH / first.width))
    geometry = layout(len(tiles), tile_size)
    image = Image.new("RGB", (geometry.width, geometry.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    if not film.final_frame_captured:
        title += "  (the screencast sent no frame of the final state: the last tiles may show an older frame)"
    draw.text((GUTTER, 5), title, fill=TEXT, font=font)
    decoded: dict[int, Image.Image] = {}
    for tile, box in zip(tiles, geometry.boxes):
        key = id(tile.frame)
        if key not in decoded:
            decoded[key] = Image.open(io.BytesIO(tile.frame.jpeg)).convert("RGB").resize(tile_size, Image.LANCZOS)
        image.paste(decoded[key], box[:2])
        draw.rectangle((box[0] - 1, box[1] - 1, box[2], box[3]), outline=(160, 160, 160))
        draw.text((box[0], box[1] - LABEL_HEIGHT + 3), f"+{tile.at_ms:.0f} ms  (frame {tile.frame_ms:+.0f})",
                  fill=TEXT, font=font)
    return image, geometry
