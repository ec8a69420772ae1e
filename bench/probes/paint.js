// Message-to-paint probe (docs/metrics.md, "message-to-paint").
//
// Installed as an init script, so it runs before any of the page's own
// scripts. It wraps WebSocket to timestamp the dispatch of every frame that
// carries a benchmark token (t_recv), watches the DOM for the token's text
// (t_dom) and marks the enclosing block element for Element Timing, whose
// renderTime is the presentation time of the first frame that painted it
// (t_paint). Every message also gets t_presented: the presentation time of
// the first frame after its text entered the DOM, whether or not that frame
// shows it (a frame sentinel, below). Python reads the records with
// window.__bench.take(tokens).
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

  const records = new Map();      // token -> {recv, dom, paint, presented, method, socket}
  const awaitingDom = new Set();  // tokens received but not yet seen in the DOM
  const tokensByIdentifier = new Map(); // elementtiming identifier -> [token]
  // token -> the element its text is in (its Element Timing element), until
  // the harness takes or forgets the token: quiet() asks whether the ones
  // not painted yet are out of view.
  const elementOf = new Map();
  const sockets = [];             // one entry per WebSocket the page created
  let nextIdentifier = 0;

  // Texts the harness expects to appear without a token (expect(): what
  // the input scenario typed), watched like tokens until they are in the DOM.
  const expected = new Set();

  function tokensIn(text) {
    if (!text) return [];
    const found = text.indexOf("bench-") < 0 ? [] : text.match(TOKEN_RE) || [];
    for (const want of expected) if (text.indexOf(want) >= 0) found.push(want);
    return found;
  }

  // --- t_recv: the page's WebSocket dispatches the frame ------------------
  // Binary frames (MessagePack protocols) carry the token as raw UTF-8, so
  // decoding the bytes finds it. An ArrayBuffer is read at once; a Blob (the
  // default binaryType) can only be read asynchronously: its tokens get the
  // dispatch time as t_recv, taken before the read.
  const decoder = new TextDecoder();

  function onFrame(info, event) {
    const now = performance.now();
    info.frames += 1;
    const data = event.data;
    if (typeof data === "string") received(info, data, now);
    else if (data instanceof ArrayBuffer) received(info, decoder.decode(data), now);
    else if (data instanceof Blob) {
      info.blobReads += 1;
      data.text().then((text) => received(info, text, now, true), () => {})
        .finally(() => { info.blobReads -= 1; });
    }
  }

  function received(info, text, now, late = false) {
    let added = false;
    for (const token of tokensIn(text)) {
      const known = records.get(token);
      if (known && known.recv === null && expected.has(token)) known.recv = now;
      if (known) continue;
      records.set(token, { recv: now, dom: null, paint: null, paintRaw: null, presented: null, method: null,
                           socket: info.id });
      awaitingDom.add(token);
      added = true;
    }
    // A Blob read can finish after the page's own read put the text in the
    // DOM: look for it now (t_dom is then when the read finished, late).
    if (late && added) inspect(document.documentElement, performance.now());
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
      this.blobReads = 0;  // Blob frames still being read (their tokens not known yet)
      // The first frames the page sent (heads), for protocol handshakes
      // (bench/targets/inject.py); a binary one as "b" + base64, as Engine.IO
      // writes binary packets on long-polling.
      this.sent = [];
    }
  }
  const SENT_KEPT = 16, SENT_HEAD = 512;

  function sentHead(data) {
    if (typeof data === "string") return data.slice(0, SENT_HEAD);
    let bytes = null;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data, 0, Math.min(data.byteLength, SENT_HEAD));
    else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, Math.min(data.byteLength, SENT_HEAD));
    }
    return bytes ? "b" + btoa(String.fromCharCode(...bytes)) : null;  // Blob: not recorded
  }

  const NativeWebSocket = window.WebSocket;
  class BenchWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      const info = new BenchSocketInfo(sockets.length, this.url || String(args[0]));
      sockets.push(info);
      infoOf.set(this, info);
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
  const infoOf = new WeakMap();  // socket -> its BenchSocketInfo
  BenchWebSocket.prototype.send = function send(data) {
    const info = infoOf.get(this);
    if (info && info.sent.length < SENT_KEPT) {
      const head = sentHead(data);
      if (head !== null) info.sent.push(head);
    }
    return NativeWebSocket.prototype.send.call(this, data);
  };
  window.WebSocket = BenchWebSocket;

  // Sockets inside a (Shared)Worker are out of Playwright's reach: count the
  // workers, and take t_recv from their messages to the page (inject = server).
  const workers = { dedicated: 0, shared: 0 };
  function onWorkerMessage(event) {
    let text = event.data;
    if (typeof text !== "string") { try { text = JSON.stringify(text); } catch { return; } }
    onFrame(workerInfo, { data: text });
  }
  const workerInfo = new BenchSocketInfo(-1, "worker");
  for (const [name, kind] of [["Worker", "dedicated"], ["SharedWorker", "shared"]]) {
    const Native = window[name];
    if (!Native) continue;
    window[name] = class extends Native {
      constructor(...args) {
        super(...args);
        workers[kind] += 1;
        const port = kind === "shared" ? this.port : this;
        port.addEventListener("message", onWorkerMessage);
      }
    };
  }

  // --- t_dom: the token's text enters the DOM ------------------------------
  // Shadow roots are observed too: attachShadow is wrapped so every root,
  // open or closed, gets the same observer as the document.
  const MUTATIONS = { childList: true, subtree: true, characterData: true };
  const shadowRootOf = new WeakMap();  // host -> its shadow root
  let shadowRootsSeen = false;

  function blockContainer(textNode) {
    let el = textNode.parentElement;
    while (el && INLINE_TAGS.has(el.tagName) && el.parentElement) el = el.parentElement;
    return el;
  }

  function newIdentifier(tokens) {
    const identifier = "bench:" + nextIdentifier++;
    tokensByIdentifier.set(identifier, tokens);
    return identifier;
  }

  function markForElementTiming(el, token) {
    const identifier = el.getAttribute("elementtiming");
    if (identifier && tokensByIdentifier.has(identifier)) {
      tokensByIdentifier.get(identifier).push(token);
    } else {
      el.setAttribute("elementtiming", newIdentifier([token]));
    }
  }

  // The frame sentinel (sentinel.js) serves two ends:
  // - t_presented of every message: the first frame presented after its text
  //   entered the DOM, on screen or not (a message scrolled out of view before
  //   any frame shows it has no Element Timing of its own);
  // - t_paint where Element Timing cannot see the text (shadow trees): those
  //   samples are labelled "sentinel".
  /* include: sentinel.js */

  const presentedAt = frames.channel((tokens, paint) => {
    for (const token of tokens) {
      const rec = records.get(token);
      if (rec && rec.presented === null) rec.presented = paint;
    }
  });
  const paintedAt = frames.channel((tokens, paint, paintRaw) => {
    for (const token of tokens) {
      const rec = records.get(token);
      if (rec && rec.paint === null) {
        rec.paint = paint;
        rec.paintRaw = paintRaw;
      }
    }
  });

  function markWithSentinel(token) {
    paintedAt.add(token);
    records.get(token).method = "sentinel";
  }

  function textNodeWith(root, token) {
    if (root.nodeType === Node.TEXT_NODE) return root.data.indexOf(token) >= 0 ? root : null;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.currentNode; node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        if (node.data.indexOf(token) >= 0) return node;
      } else if (shadowRootOf.has(node)) {
        const inner = textNodeWith(shadowRootOf.get(node), token);
        if (inner) return inner;
      }
    }
    return null;
  }

  function deepText(node) {
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    let text = node.textContent || "";
    if (!shadowRootsSeen) return text;
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT);
    for (let el = walker.currentNode; el; el = walker.nextNode()) {
      if (shadowRootOf.has(el)) text += " " + deepText(shadowRootOf.get(el));
    }
    return text;
  }

  function inspect(node, now) {
    if (node.nodeType !== Node.TEXT_NODE && node.nodeType !== Node.ELEMENT_NODE &&
        node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    for (const token of tokensIn(deepText(node))) {
      if (!awaitingDom.has(token)) continue;
      const textNode = textNodeWith(node, token);
      // Split across text nodes, or not yet in the document (a shadow tree
      // built before its host is inserted): seen again when it is inserted.
      if (!textNode || !textNode.isConnected) continue;
      // An expected text in an editable box is still being typed, not shown.
      if (expected.has(token) && textNode.parentElement?.closest("[contenteditable]")) continue;
      awaitingDom.delete(token);
      expected.delete(token);
      records.get(token).dom = now;
      presentedAt.add(token);
      const inShadowTree = textNode.getRootNode() !== document;
      if (inShadowTree || forceSentinel) {
        markWithSentinel(token);
        if (textNode.parentElement) elementOf.set(token, textNode.parentElement);
      } else {
        const el = blockContainer(textNode);
        if (el) {
          markForElementTiming(el, token);
          elementOf.set(token, el);
        }
      }
    }
  }
  // Tests set window.__benchPaintMethod = "sentinel" (before this script) to
  // compare the fallback with Element Timing on the same page.
  const forceSentinel = window.__benchPaintMethod === "sentinel";

  const observer = new MutationObserver((mutations) => {
    if (awaitingDom.size === 0) return;
    const now = performance.now();
    for (const m of mutations) {
      if (m.type === "characterData") inspect(m.target, now);
      else for (const node of m.addedNodes) inspect(node, now);
    }
  });
  observer.observe(document, MUTATIONS);

  const nativeAttachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function attachShadow(init) {
    const root = nativeAttachShadow.call(this, init);
    shadowRootOf.set(this, root);
    shadowRootsSeen = true;
    observer.observe(root, MUTATIONS);
    return root;
  };

  // --- t_paint: Element Timing renderTime of the marked element ------------
  // t_paint is presentationEstimate(entry) (presentation.js).
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
          rec.method = rec.method || "element-timing";
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

  // Whether none of these elements is in view now (viewport and every
  // clipping ancestor, an inner scrolling list too): no frame can paint them
  // until something scrolls them into view. IntersectionObserver reports each
  // newly observed element's current state at the next rendering update, so
  // this costs the page no layout of its own.
  function outOfView(elements) {
    return new Promise((resolve) => {
      const targets = new Set(elements);
      if (targets.size === 0) { resolve(true); return; }
      let visible = false;
      const io = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          visible = visible || entry.isIntersecting;
          targets.delete(entry.target);
        }
        if (targets.size === 0) { io.disconnect(); resolve(!visible); }
      });
      for (const el of targets) io.observe(el);
    });
  }
  // quiet(): frames without a new paint after which the wait ends when every
  // message not painted is out of view (else it waits stableFrames).
  const OUT_OF_VIEW_FRAMES = 2;

  // console.timeStamp(label) once the frame that shows the DOM as it is now
  // has done its main-thread work (style, layout, paint, commit): with CDP
  // Performance enabled it sends a Performance.metrics snapshot taken right
  // then (bench/probes/render.py). Inside a rAF turn that frame is this one,
  // else the next; a task posted from the rAF turn runs after the frame's
  // rendering update. The page's own console.timeStamp is kept from before
  // its scripts ran.
  const timeStamp = console.timeStamp.bind(console);

  function stampAfterFrame(label, inAnimationFrame) {
    const stamp = () => setTimeout(() => timeStamp(label), 0);
    if (inAnimationFrame) stamp();
    else requestAnimationFrame(stamp);
  }

  let frameIntervalMs = 0;  // atFramePhase: the refresh interval, measured on first use

  function forget(token) {
    awaitingDom.delete(token);
    elementOf.delete(token);
    expected.delete(token);
    return records.delete(token);
  }

  window.__bench = {
    now: () => performance.now(),
    sockets: () => sockets.map((s) => ({ ...s })),
    openSockets: () => sockets.filter((s) => s.opened !== null && s.closed === null).length,
    workers: () => ({ ...workers }),

    // Resolve once every token is in the DOM (or timeoutMs passed), then
    // once no token of them has gained a paint or a presentation time for
    // `stableFrames` frames.
    // With stampLabel: console.timeStamp(stampLabel) after the frame that
    // shows the last of them has done its main-thread work.
    // With closedGraceMs: give up early once no socket has been open for that
    // long. socketIds (beside tokens: the socket each went to): a token not
    // received by the time its socket closed is not waited for, since a closed
    // socket delivers nothing more, whichever socket the page has now
    // (bench/targets/inject.py decides whether the page came back).
    async quiet(tokens, timeoutMs, stableFrames, stampLabel, closedGraceMs, socketIds) {
      const deadline = performance.now() + timeoutMs;
      const count = (field) => tokens.filter((t) => records.get(t)?.[field] != null).length;
      const lost = (t, i) => socketIds?.[i] != null && sockets[socketIds[i]]?.closed != null
        && records.get(t)?.recv == null;
      const waiting = () => tokens.some((t, i) => records.get(t)?.dom == null && !lost(t, i));
      let inAnimationFrame = false;
      let closedSince = null, socketClosed = false;
      while (waiting() && performance.now() < deadline) {
        await nextFrame();
        inAnimationFrame = true; // resumed in the rAF turn of the frame that checked
        if (closedGraceMs == null) continue;
        const open = window.__bench.openSockets() > 0;
        closedSince = open ? null : (closedSince ?? performance.now());
        if (closedSince !== null && performance.now() - closedSince > closedGraceMs) { socketClosed = true; break; }
      }
      if (tokens.some(lost)) socketClosed = true;
      if (stampLabel) stampAfterFrame(stampLabel, inAnimationFrame);
      let painted = -1;
      let stable = 0;
      let looked = -1;  // the count at the last out-of-view look
      let outOfViewEnd = false;
      // Every token painted and presented: no paint can still come (Element
      // Timing reports an element's first paint only), nothing left to wait for.
      const settled = () => count("paint") === tokens.length && count("presented") === tokens.length;
      while (stable < stableFrames && !settled() && performance.now() < deadline) {
        await nextFrame();
        const now = count("paint") + count("presented");
        stable = now === painted ? stable + 1 : 0;
        painted = now;
        // Every token presented, and those still without a paint are out of
        // view (scrolled past before any frame showed them): their paint can
        // come only if something scrolls them back, which a burst's page does
        // not do. Paints of the visible ones all came (Element Timing entries
        // arrive in frame order), so OUT_OF_VIEW_FRAMES quiet frames do.
        if (stable >= OUT_OF_VIEW_FRAMES && stable < stableFrames && looked !== now
            && count("presented") === tokens.length) {
          looked = now;
          const unpainted = tokens.filter((t) => records.get(t)?.paint == null).map((t) => elementOf.get(t));
          if (!unpainted.includes(undefined) && await outOfView(unpainted)) { outOfViewEnd = true; break; }
        }
      }
      const timedOut = performance.now() >= deadline;
      // How the wait ended (tests/test_quiet.py).
      const ended = settled() ? "painted" : outOfViewEnd ? "out-of-view" : timedOut ? "timeout" : "stable";
      return { recv: count("recv"), dom: count("dom"), paint: count("paint"), timedOut, socketClosed, ended };
    },

    // Resolve once the main thread is idle (requestIdleCallback), at most
    // after timeoutMs: the page's own work from the last burst is over.
    idle(timeoutMs) {
      return new Promise((resolve) => {
        if (typeof requestIdleCallback !== "function") { setTimeout(resolve, timeoutMs); return; }
        requestIdleCallback(() => resolve(), { timeout: timeoutMs });
      });
    },

    // Wait until the main thread is idle (at most gapMs, as idle()), then for
    // an animation frame, then `fraction` of the frame interval (measured
    // from two rAF timestamps, once per page): the next burst then starts at
    // that phase of the refresh cycle, plus a constant delivery delay.
    // Resolves to {intervalMs, phaseMs}.
    async atFramePhase(gapMs, fraction) {
      await window.__bench.idle(gapMs);
      let t = await new Promise((resolve) => requestAnimationFrame(resolve));
      if (!frameIntervalMs) {
        const t2 = await new Promise((resolve) => requestAnimationFrame(resolve));
        frameIntervalMs = t2 - t > 0 && t2 - t < 100 ? t2 - t : 1000 / 60;
        t = t2;
      }
      const phaseMs = fraction * frameIntervalMs;
      await new Promise((resolve) => setTimeout(resolve, phaseMs));
      return { intervalMs: frameIntervalMs, phaseMs };
    },

    // Where a token's text is, for `bench profile check`: a readable path of
    // its element, and whether it sits under the message and list selectors
    // (walking out of shadow roots through their hosts).
    locate(token, messageSelector, listSelector) {
      const textNode = textNodeWith(document.documentElement, token);
      if (!textNode) return { found: false };
      const ancestors = [];
      for (let el = textNode.parentElement || textNode.getRootNode().host; el;
           el = el.parentElement || (el.getRootNode() !== document ? el.getRootNode().host : null)) {
        ancestors.push(el);
      }
      const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        [...el.classList].map((c) => "." + c).join("");
      const matchesAny = (selector) => { try { return ancestors.some((el) => el.matches(selector)); } catch { return false; } };
      return {
        found: true,
        path: ancestors.slice(0, 6).reverse().map(describe).join(" > "),
        inShadowTree: textNode.getRootNode() !== document,
        inMessage: matchesAny(messageSelector),
        inList: listSelector === "html" || matchesAny(listSelector),
      };
    },

    // Hand over the records of these tokens and forget them. As JSON text:
    // Playwright's own serialization of a returned array of objects costs
    // ~0.2 ms per record on each side, JSON.stringify + json.loads a few us.
    take(tokens) {
      return JSON.stringify(tokens.map((token) => {
        const rec = records.get(token);
        forget(token);
        return rec ? { token, ...rec } : { token, recv: null, dom: null, paint: null, presented: null, method: null };
      }));
    },

    // Watch for this text as if it were a token (a message the page sends
    // itself, e.g. what the input scenario typed): recv when a frame carrying
    // it (as is, not escaped) arrives, dom and paint as for tokens.
    expect(text) {
      expected.add(text);
      records.set(text, { recv: null, dom: null, paint: null, paintRaw: null, presented: null, method: null, socket: null });
      awaitingDom.add(text);
    },

    // Forget these tokens' records without handing them over (messages sent
    // only to fill the page or grow its history); returns how many it held.
    forget(tokens) {
      let held = 0;
      for (const token of tokens) held += forget(token) ? 1 : 0;
      return held;
    },
  };
})();
