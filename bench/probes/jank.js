// Jank watcher (bench ui --headed --pause-on-jank MS).
//
// A requestAnimationFrame loop: the rAF timestamp is the frame's begin time,
// so the gap between two callbacks is how long the frame between them took
// (about one refresh interval when the page keeps up). A gap longer than
// window.__benchJankThresholdMs is reported to Python through the
// window.__benchJank binding, which opens the Playwright inspector. The loop
// itself makes Chromium produce a main-thread frame on every vsync; that is
// why it is installed only when asked for, in a debugging run.
//
// Added with page.add_init_script (window.__benchJankThresholdMs prepended),
// so it runs in every document before the page's own scripts.
(() => {
  if (window.__benchJankWatcher) return;
  const threshold = window.__benchJankThresholdMs;
  let last = null;

  // A hidden page gets no frames; the gap until it is shown again is not jank.
  document.addEventListener("visibilitychange", () => { last = null; });

  function onFrame(t) {
    if (last !== null && t - last > threshold && window.__benchJank) {
      window.__benchJank({ start: last, end: t, duration: t - last }).catch(() => {});
    }
    last = t;
    requestAnimationFrame(onFrame);
  }

  requestAnimationFrame(onFrame);
  window.__benchJankWatcher = { threshold };
})();
