// Frames probe (docs/metrics.md, "scroll smoothness").
//
// Records one entry per animation frame while a scroll gesture runs: the
// requestAnimationFrame timestamp (the frame's begin time, the same for every
// callback of that frame, so deltas between frames are frame intervals) and
// the list's scrollTop as the main thread sees it in that frame. Long frames
// come from the Long Animation Frames API (entries are only made for frames
// over 50 ms), with their script attribution.
//
// Injected with page.evaluate before the first gesture; evaluating it again
// does nothing. Python drives it through window.__benchFrames.
(() => {
  if (window.__benchFrames) return;

  // Kept only while recording, so the probe holds no growing state between
  // gestures (a later memory scenario on the same page must not see it).
  let longFrames = [];    // LoAF records delivered during the recording
  let recording = null;   // {el, frames: [[t, scrollTop], ...], since} while recording

  // The list, also when it lives in an open shadow root (web-component
  // chat UIs): profiles use Playwright selectors, which pierce open shadow
  // roots, and document.querySelector alone would not.
  function findList(selector, root = document) {
    const direct = root.querySelector(selector);
    if (direct) return direct;
    for (const el of root.querySelectorAll("*")) {
      if (!el.shadowRoot) continue;
      const inner = findList(selector, el.shadowRoot);
      if (inner) return inner;
    }
    return null;
  }

  // One Long Animation Frame entry as a record, with its script attribution.
  /* include: long_frames.js */

  const supportsLongFrames = (PerformanceObserver.supportedEntryTypes || [])
    .includes("long-animation-frame");
  function keepLongFrames(entries) {
    if (!recording) return;
    for (const entry of entries) longFrames.push(longFrameRecord(entry));
  }

  // Observer callbacks are queued at low priority: on a busy main thread
  // (a throttled CPU, a loaded machine) the pass's entries can still be
  // waiting when it ends, so stop() takes them from the observer's buffer.
  const longFrameObserver = supportsLongFrames
    ? new PerformanceObserver((list) => keepLongFrames(list.getEntries())) : null;
  if (longFrameObserver) longFrameObserver.observe({ type: "long-animation-frame" });

  function nextFrame() {
    return new Promise((resolve) => requestAnimationFrame(resolve));
  }

  // One rAF chain per recording: a chain left from the previous recording
  // (its callback still pending when the next one starts) ends itself.
  function recordFrames(own) {
    requestAnimationFrame(function onFrame(t) {
      if (recording !== own) return;
      own.frames.push([t, own.el.scrollTop]);
      requestAnimationFrame(onFrame);
    });
  }

  window.__benchFrames = {
    supportsLongFrames,

    // What the harness needs to know about the list before it scrolls it.
    list(selector) {
      const el = findList(selector);
      if (!el) return { found: false };
      const box = el.getBoundingClientRect();
      // The part of the list inside the viewport: where a gesture must start.
      const left = Math.max(box.left, 0);
      const right = Math.min(box.right, innerWidth);
      const top = Math.max(box.top, 0);
      const bottom = Math.min(box.bottom, innerHeight);
      return {
        found: true,
        scrollTop: el.scrollTop,
        scrollHeight: el.scrollHeight,
        clientHeight: el.clientHeight,
        visible: { x: (left + right) / 2, y: (top + bottom) / 2,
                   width: Math.max(0, right - left), height: Math.max(0, bottom - top) },
      };
    },

    // Scroll to the newest message (the end of the list), then let frames pass.
    async toEnd(selector, settleFrames) {
      const el = findList(selector);
      el.scrollTop = el.scrollHeight;
      for (let i = 0; i < settleFrames; i++) await nextFrame();
      return el.scrollTop;
    },

    // rAF timestamps of the next `count` frames, with nothing else going on:
    // their median delta is the display's refresh interval.
    async idle(count) {
      const stamps = [];
      while (stamps.length < count) stamps.push(await nextFrame());
      return stamps;
    },

    start(selector) {
      recording = { el: findList(selector), frames: [], since: performance.now() };
      longFrames = [];
      recordFrames(recording);
    },

    // Keep recording until scrollTop has been still for `stillFrames` frames
    // (the gesture's last scroll can reach the main thread after the gesture
    // command returns), or `maxMs` passed; then hand over what was recorded.
    async stop(stillFrames, maxMs) {
      const deadline = performance.now() + maxMs;
      let still = 0;
      let last = recording.el.scrollTop;
      while (still < stillFrames && performance.now() < deadline) {
        await nextFrame();
        const now = recording.el.scrollTop;
        still = now === last ? still + 1 : 0;
        last = now;
      }
      if (longFrameObserver) keepLongFrames(longFrameObserver.takeRecords());
      const done = recording;
      const found = longFrames.filter((f) => f.startTime + f.duration >= done.since);
      recording = null;
      longFrames = [];
      return { frames: done.frames, longFrames: found };
    },
  };
})();
