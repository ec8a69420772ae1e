  // --- presentation time from an Element Timing entry (shared: probe_script includes it) ---
  // renderTime is the presentation time of the frame that first painted the
  // element, but on a page that is not cross-origin isolated Chromium rounds
  // it up to a multiple of 4 ms (checked against the trace, tests/test_paint_truth.py).
  // The true time then lies in (renderTime - 4, renderTime], and not before
  // paintTime (end of the rendering update, not coarsened): the estimate is the
  // middle of that interval, which makes the error at most 2 ms and unbiased.
  const RENDER_TIME_QUANTUM_MS = window.crossOriginIsolated ? 0 : 4;

  function presentationEstimate(entry) {
    const rendered = entry.presentationTime || entry.renderTime;
    if (!rendered || !RENDER_TIME_QUANTUM_MS) return rendered;
    const earliest = Math.max(rendered - RENDER_TIME_QUANTUM_MS, entry.paintTime || 0);
    return (earliest + rendered) / 2;
  }
