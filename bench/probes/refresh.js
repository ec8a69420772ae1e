// Idle refresh interval (evaluated, not an init script): the deltas between
// `frames` + 1 consecutive requestAnimationFrame timestamps. A rAF callback
// receives the begin time of its frame, so on an idle page the deltas are
// the display's refresh interval (16.7 ms at 60 Hz); a janky frame shows as
// a multiple, which is why callers take the median.
(frames) => new Promise((resolve) => {
  const stamps = [];
  function tick(timestamp) {
    stamps.push(timestamp);
    if (stamps.length > frames) {
      resolve(stamps.slice(1).map((t, i) => t - stamps[i]));
    } else {
      requestAnimationFrame(tick);
    }
  }
  requestAnimationFrame(tick);
})
