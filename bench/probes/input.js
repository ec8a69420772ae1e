// Input responsiveness probe (docs/input.md).
//
// Installed as an init script, before the page's own scripts. Per trusted
// key event (keydown, keypress, keyup) it records, from a capturing listener
// on window (the first listener of the dispatch):
//   ts     the event's timeStamp (the Event Timing entry's startTime)
//   start  when dispatch reached it (input delay = start - ts)
//   end    when the dispatch left window in the bubble phase (a listener
//          added during the capture phase runs after every listener of the
//          page on the way up, so start..end is the processing)
//   paint  the presentation time of the first frame after its processing
// and, from the Event Timing API (durationThreshold 16, its minimum), the
// entries of the same events when Chromium reports them: duration rounded to
// 8 ms, processingStart, processingEnd, interactionId. Event Timing reports
// nothing for an event under 16 ms, so `paint` times every keystroke,
// including the fast ones.
//
// `paint` comes from the frame sentinel (sentinel.js), marked in the event's
// first listener: the first rendering update after the event's task paints
// it, and Element Timing gives that frame's presentation time (the same
// estimate as the paint probe). One sentinel element serves every event of
// one frame. It also gives each keystroke's frame paint damage:
// without one, Chromium 156 reported no Event Timing entry at all for keys
// typed into the bundled app's input, however slow (checked by hand).
//
// Long animation frames (> 50 ms) are kept with their script attribution, so
// the harness can say what blocked a slow keystroke.
(() => {
  if (window.__benchInput) return;

  const KEY_EVENTS = ["keydown", "keypress", "keyup"];
  const SEND_EVENTS = ["keydown", "pointerdown", "mousedown"];
  const keystrokes = [];   // {index, key, events: [{type, ts, start, end, paint, paintRaw}]}
  const entries = [];      // Event Timing entries of key events
  const longFrames = [];   // long animation frames while armed
  let armed = false;
  let sendArmed = false;
  let sendStart = null;    // timeStamp of the first trusted input event after armSend()

  // --- the frame after an event: the frame sentinel (sentinel.js) ---------
  /* include: sentinel.js */

  const paintedAt = frames.channel((records, paint, paintRaw) => {
    for (const record of records) {
      record.paint = paint;
      record.paintRaw = paintRaw;
    }
  });

  // --- key events ---------------------------------------------------------
  function onKeyEvent(event) {
    if (!armed || !event.isTrusted) return;
    const start = performance.now();
    if (event.type === "keydown" || keystrokes.length === 0) {
      keystrokes.push({ index: keystrokes.length, key: event.key, events: [] });
    }
    const record = { type: event.type, ts: event.timeStamp, start, end: null, paint: null, paintRaw: null };
    keystrokes[keystrokes.length - 1].events.push(record);
    paintedAt.add(record);
    // Bubble phase on window: after the page's own listeners on the way up.
    // One left over from an event whose propagation the page stopped is
    // dropped, so it cannot time this one.
    if (endListeners[event.type]) window.removeEventListener(event.type, endListeners[event.type]);
    const onEnd = () => {
      record.end = performance.now();
      window.removeEventListener(event.type, onEnd);
      endListeners[event.type] = null;
    };
    endListeners[event.type] = onEnd;
    window.addEventListener(event.type, onEnd);
  }
  const endListeners = {};
  for (const type of KEY_EVENTS) window.addEventListener(type, onKeyEvent, true);

  function onSendEvent(event) {
    if (sendArmed && event.isTrusted) {
      sendStart = event.timeStamp;
      sendArmed = false;
    }
  }
  for (const type of SEND_EVENTS) window.addEventListener(type, onSendEvent, true);

  // --- Event Timing and long animation frames -----------------------------
  const supported = PerformanceObserver.supportedEntryTypes || [];
  // Observer callbacks are queued at low priority and can still be waiting
  // on a busy main thread when the scenario takes what was recorded: take()
  // empties the observers' buffers first.
  const observers = [];

  function keepEvents(list) {
    if (!armed) return;
    for (const e of list) {
      if (!KEY_EVENTS.includes(e.name)) continue;
      entries.push({ name: e.name, startTime: e.startTime, duration: e.duration,
                     processingStart: e.processingStart, processingEnd: e.processingEnd,
                     interactionId: e.interactionId || 0 });
    }
  }

  /* include: long_frames.js */

  function keepLongFrames(list) {
    if (!armed) return;
    for (const e of list) longFrames.push(longFrameRecord(e));
  }

  function observe(type, keep, options) {
    if (!supported.includes(type)) return;
    const observer = new PerformanceObserver((list) => keep(list.getEntries()));
    observer.observe({ type, ...options });
    observers.push([observer, keep]);
  }
  observe("event", keepEvents, { durationThreshold: 16, buffered: true });
  observe("long-animation-frame", keepLongFrames, {});

  function nextFrame() {
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  window.__benchInput = {
    eventTiming: supported.includes("event"),
    longFrames: supported.includes("long-animation-frame"),
    arm() {
      armed = true;
    },
    armSend() {
      sendArmed = true;
      sendStart = null;
    },
    sendStart: () => sendStart,
    // Wait until every keystroke's events have a paint (or timeoutMs), then a
    // few frames more so Event Timing entries (sent after presentation) are in.
    async settle(timeoutMs, frames) {
      const deadline = performance.now() + timeoutMs;
      const pending = () => keystrokes.some((k) => k.events.some((e) => e.paint === null));
      while (pending() && performance.now() < deadline) await nextFrame();
      for (let i = 0; i < frames; i++) await nextFrame();
      return !pending();
    },
    // Hand over everything recorded and forget it (as JSON text).
    take() {
      for (const [observer, keep] of observers) keep(observer.takeRecords());
      const out = JSON.stringify({ keystrokes, entries, longFrames });
      keystrokes.length = 0;
      entries.length = 0;
      longFrames.length = 0;
      return out;
    },
    disarm() {
      armed = false;
    },
  };
})();
