// Message-to-paint probe (DESIGN.md section 3, "message-to-paint").
//
// Installed as an init script, so it runs before any of the page's own
// scripts. It wraps WebSocket to timestamp the dispatch of every frame that
// carries a benchmark token (t_recv), watches the DOM for the token's text
// (t_dom) and marks the enclosing block element for Element Timing, whose
// renderTime is the presentation time of the first frame that painted it
// (t_paint). Python reads the records with window.__bench.take(tokens).
(() => {
  if (window.__bench) return;

  const TOKEN_RE = /bench-[a-z0-9]+-\d+/g;
  // Inline elements are skipped when looking for the element that Chromium
  // aggregates a text node's paint into (the nearest block container).
  const INLINE_TAGS = new Set([
    "A", "ABBR", "B", "BDI", "BDO", "CITE", "CODE", "DATA", "DFN", "EM", "I",
    "KBD", "MARK", "Q", "S", "SAMP", "SMALL", "SPAN", "STRONG", "SUB", "SUP",
    "TIME", "U", "VAR", "FONT", "LABEL",
  ]);

  const records = new Map();      // token -> {recv, dom, paint, method, socket}
  const awaitingDom = new Set();  // tokens received but not yet seen in the DOM
  const tokensByIdentifier = new Map(); // elementtiming identifier -> [token]
  const sockets = [];             // one entry per WebSocket the page created
  let nextIdentifier = 0;

  function tokensIn(text) {
    if (!text || text.indexOf("bench-") < 0) return [];
    return text.match(TOKEN_RE) || [];
  }

  // --- t_recv: the page's WebSocket dispatches the frame ------------------
  function frameText(data) {
    if (typeof data === "string") return data;
    if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
    return "";  // Blob frames would need an async read; not timestamped
  }

  function onFrame(info, event) {
    const now = performance.now();
    info.frames += 1;
    for (const token of tokensIn(frameText(event.data))) {
      if (records.has(token)) continue;
      records.set(token, { recv: now, dom: null, paint: null, paintRaw: null, method: null, socket: info.id });
      awaitingDom.add(token);
    }
  }

  // One per socket the page ever opened, kept for the harness. A class of
  // its own so a heap snapshot can tell this bookkeeping from the page's
  // objects (bench/heap_snapshot.py never calls it a leak suspect).
  class BenchSocketInfo {
    constructor(id, url) {
      this.id = id;
      this.url = url;
      this.created = performance.now();
      this.opened = null;
      this.closed = null;
      this.closeCode = null;
      this.frames = 0;
    }
  }

  const NativeWebSocket = window.WebSocket;
  class BenchWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      const info = new BenchSocketInfo(sockets.length, String(args[0]));
      sockets.push(info);
      // Registered in the constructor, so before any listener of the app:
      // listeners fire in registration order, and this one only reads.
      this.addEventListener("message", (event) => onFrame(info, event));
      this.addEventListener("open", () => { info.opened = performance.now(); });
      this.addEventListener("close", (event) => {
        info.closed = performance.now();
        info.closeCode = event.code;
      });
    }
  }
  window.WebSocket = BenchWebSocket;

  // --- t_dom: the token's text enters the DOM ------------------------------
  function blockContainer(textNode) {
    let el = textNode.parentElement;
    while (el && INLINE_TAGS.has(el.tagName) && el.parentElement) el = el.parentElement;
    return el;
  }

  function markForElementTiming(el, token) {
    let identifier = el.getAttribute("elementtiming");
    if (!identifier || !tokensByIdentifier.has(identifier)) {
      identifier = "bench:" + nextIdentifier++;
      el.setAttribute("elementtiming", identifier);
      tokensByIdentifier.set(identifier, []);
    }
    tokensByIdentifier.get(identifier).push(token);
  }

  function textNodeWith(root, token) {
    if (root.nodeType === Node.TEXT_NODE) return root;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.data.indexOf(token) >= 0) return node;
    }
    return null;
  }

  function inspect(node, now) {
    const text = node.nodeType === Node.TEXT_NODE ? node.data
      : node.nodeType === Node.ELEMENT_NODE ? node.textContent : "";
    for (const token of tokensIn(text)) {
      if (!awaitingDom.has(token)) continue;
      const textNode = textNodeWith(node, token);
      if (!textNode) continue;  // split across text nodes: not ours to guess
      awaitingDom.delete(token);
      records.get(token).dom = now;
      const el = blockContainer(textNode);
      if (el) markForElementTiming(el, token);
    }
  }

  const observer = new MutationObserver((mutations) => {
    if (awaitingDom.size === 0) return;
    const now = performance.now();
    for (const m of mutations) {
      if (m.type === "characterData") inspect(m.target, now);
      else for (const node of m.addedNodes) inspect(node, now);
    }
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });

  // --- t_paint: Element Timing renderTime of the marked element ------------
  // renderTime is the presentation time of the frame that first painted the
  // element, but on a page that is not cross-origin isolated Chromium rounds
  // it up to a multiple of 4 ms (checked against the trace, tests/test_paint_truth.py).
  // The true time then lies in (renderTime - 4, renderTime], and not before
  // paintTime (end of the rendering update, not coarsened): t_paint is the
  // middle of that interval, which makes the error at most 2 ms and unbiased.
  const RENDER_TIME_QUANTUM_MS = window.crossOriginIsolated ? 0 : 4;

  function presentationEstimate(entry) {
    const rendered = entry.presentationTime || entry.renderTime;
    if (!rendered || !RENDER_TIME_QUANTUM_MS) return rendered;
    const earliest = Math.max(rendered - RENDER_TIME_QUANTUM_MS, entry.paintTime || 0);
    return (earliest + rendered) / 2;
  }

  function onElementEntries(list) {
    for (const entry of list.getEntries()) {
      const tokens = tokensByIdentifier.get(entry.identifier);
      if (!tokens) continue;
      const paint = presentationEstimate(entry);
      if (!paint) continue;
      for (const token of tokens) {
        const rec = records.get(token);
        if (rec && rec.paint === null) {
          rec.paint = paint;
          rec.paintRaw = entry.presentationTime || entry.renderTime;
          rec.method = "element-timing";
        }
      }
      tokensByIdentifier.delete(entry.identifier);
    }
  }
  new PerformanceObserver(onElementEntries).observe({ type: "element", buffered: true });

  // --- API for the harness -------------------------------------------------
  function nextFrame() {
    return new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }

  window.__bench = {
    now: () => performance.now(),
    sockets: () => sockets.map((s) => ({ ...s })),
    openSockets: () => sockets.filter((s) => s.opened !== null && s.closed === null).length,

    // Resolve once every token is in the DOM (or timeoutMs passed), then
    // once no token of them has gained a paint for `stableFrames` frames.
    async quiet(tokens, timeoutMs, stableFrames) {
      const deadline = performance.now() + timeoutMs;
      const count = (field) => tokens.filter((t) => records.get(t)?.[field] != null).length;
      while (count("dom") < tokens.length && performance.now() < deadline) await nextFrame();
      let painted = -1;
      let stable = 0;
      while (stable < stableFrames && performance.now() < deadline) {
        await nextFrame();
        const now = count("paint");
        stable = now === painted ? stable + 1 : 0;
        painted = now;
      }
      return { recv: count("recv"), dom: count("dom"), paint: count("paint"),
               timedOut: performance.now() >= deadline };
    },

    // Hand over the records of these tokens and forget them.
    take(tokens) {
      return tokens.map((token) => {
        const rec = records.get(token);
        records.delete(token);
        awaitingDom.delete(token);
        return rec ? { token, ...rec } : { token, recv: null, dom: null, paint: null, method: null };
      });
    },
  };
})();
