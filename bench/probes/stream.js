// Stream probe (docs/streaming.md): one streamed reply, chunk by chunk.
//
// Installed as an init script, so it runs before any of the page's own
// scripts, and wraps the three ways a reply streams into a page:
// - fetch(): a streamed response's body is handed on through a stream of
//   our own that reads it as the page's reads pull, stamping each chunk as
//   it enters the page, which is when the app's pending reader.read()
//   resolves (and for await / pipeThrough readers alike);
// - EventSource: a listener registered before the app's, for "message" and
//   for every event type the app listens to;
// - WebSocket: a "message" listener registered in the constructor, before
//   the app's; send() marks a request.
// For a reply, Python arms the probe (arm()), runs the profile's start
// actions, and reads result() once the page says the reply is over (a
// console.debug line, below). Per chunk it keeps: arrival (t), the moment
// the reply's text grew in the DOM after it (dom, seen by a MutationObserver
// at the end of the task that rendered it, with the reply's length then), and
// the presentation time of the frame that painted that growth (paint: the
// Element Timing renderTime of a one-pixel sentinel added in the same
// microtask, as bench/probes/paint.js does for shadow-DOM text). After the
// frame that shows the last chunk it calls console.timeStamp(label), which
// with CDP Performance enabled sends the renderer's main-thread counters at
// that moment (bench/probes/render.py): the end of the reply's render.* window.
(() => {
  if (window.__benchStream) return;

  const now = () => performance.now();
  const timeStamp = console.timeStamp.bind(console);
  // Taken now, before the page's scripts run: an app that silences or wraps console.debug later
  // (a logger, an error tracker) still lets the "reply is over" line through.
  const debug = console.debug.bind(console);
  let reply = null;       // the armed reply measurement, null when not measuring
  let nextChannel = 0;

  // --- the request and the chunks ----------------------------------------
  function request(kind, url) {
    if (reply && reply.request === null) reply.request = { t: now(), kind, url: String(url) };
  }

  // A channel may carry the reply if the transport allows it and, for a
  // WebSocket, the page sent on it since arm() (a socket the page only
  // listens on is not the reply's).
  function accepts(channel) {
    if (!reply || reply.ended !== null) return false;
    if (reply.channel !== null) return reply.channel === channel.id;
    if (reply.transport !== "auto" && reply.transport !== channel.kind) return false;
    if (channel.kind === "websocket" && channel.sentSince !== reply.seq) return false;
    reply.channel = channel.id;
    reply.kind = channel.kind;
    return true;
  }

  // Until the reply's text first grows, each chunk's payload is kept as
  // text (at most HEAD_CHARS of it): a protocol that sends control events
  // before the first token (the AI SDK's start/text-start, Anthropic's
  // message_start) would otherwise make its first chunk look like the reply's
  // first text, and the time to the first token look like the time to the
  // response's first bytes. See preamble() below.
  const HEAD_CHARS = 4096;

  function payloadText(channel, payload) {
    if (typeof payload === "string") return payload.slice(0, HEAD_CHARS);
    const bytes = payload instanceof ArrayBuffer ? new Uint8Array(payload)
      : ArrayBuffer.isView(payload) ? payload : null;
    if (!bytes) return null;  // a Blob: its text is not at hand
    channel.decoder = channel.decoder || new TextDecoder();
    return channel.decoder.decode(bytes, { stream: true }).slice(0, HEAD_CHARS);
  }

  function chunk(channel, size, payload) {
    if (!accepts(channel)) return;
    const c = { t: now(), size, dom: null, len: null, grow: null, paint: null, paintRaw: null };
    if (reply.grew.length === 0 && payload !== undefined) c.head = payloadText(channel, payload);
    reply.chunks.push(c);
    if (reply.paints) frames.prepare();
    if (!reply.recordingFrames && reply.recordFrames) {
      // From the first chunk on: frames before it are not "while streaming".
      reply.recordingFrames = true;
      recordFrames(reply);
    }
  }

  // how: "closed" (the stream ended), "error" (an EventSource's error,
  // which is also how a finished SSE response ends) or "broken" (a fetch
  // body that failed mid-reply; error: the browser's words).
  function ended(channel, how, error) {
    // A body that broke before its first chunk is the reply's too, where it may carry it: its reset can
    // come before any chunk was read (on a loaded machine, the chunks sent before it were lost with it),
    // and the break would otherwise wait for the timeout and read as "no chunk".
    if (how === "broken" && reply && reply.channel === null) accepts(channel);
    if (reply && reply.channel === channel.id && reply.ended === null) {
      reply.ended = { t: now(), how };
      if (error !== undefined) reply.ended.error = String(error?.message ?? error);
      if (reply.wake) reply.wake();
    }
  }

  const STREAMED_TYPES = /text\/event-stream|ndjson|stream/i;
  const nativeFetch = window.fetch;
  window.fetch = async function fetch(...args) {
    const own = reply && reply.request === null ? reply : null;  // this is the reply's request
    request("fetch", args[0] && args[0].url ? args[0].url : args[0]);
    let response;
    try {
      response = await nativeFetch.apply(this, args);
    } catch (error) {
      // Failed before any response (refused, reset, offline). Not the end of the reply: an app may
      // ask again, and its reply then comes on that request; if no chunk comes, finish() says why.
      if (own && own.request) own.request.error = String(error?.message ?? error);
      throw error;
    }
    if (!reply || !response.body) return response;
    const type = response.headers.get("content-type") || "";
    if (reply.transport !== "fetch" && !STREAMED_TYPES.test(type)) return response;
    const channel = { id: nextChannel++, kind: "fetch" };
    // A stream that reads the body as the page's reads pull on it: each
    // chunk is stamped as the body's read resolves, then handed on. (A
    // TransformStream did the same through a pipe: twice the promises and
    // queue hops per chunk.)
    const source = response.body.getReader();
    const timed = new ReadableStream({
      pull(controller) {
        return source.read().then(({ done, value }) => {
          if (done) {
            ended(channel, "closed");
            controller.close();
            return;
          }
          chunk(channel, value.byteLength ?? value.length ?? 0, value);
          controller.enqueue(value);
        }, (error) => {
          // The body broke mid-reply (the server or the network dropped it):
          // the reply is over, and finish() says so. The page's read fails too.
          ended(channel, "broken", error);
          throw error;
        });
      },
      cancel(reason) { return source.cancel(reason); },
    });
    const wrapped = new Response(timed, { status: response.status, statusText: response.statusText,
                                          headers: response.headers });
    for (const key of ["url", "redirected", "type"]) {
      Object.defineProperty(wrapped, key, { value: response[key] });
    }
    return wrapped;
  };

  const NativeEventSource = window.EventSource;
  if (NativeEventSource) {
    class BenchEventSource extends NativeEventSource {
      constructor(...args) {
        super(...args);
        request("sse", args[0]);
        const channel = { id: nextChannel++, kind: "sse" };
        this.__benchChannel = channel;
        this.__benchTypes = new Set(["message"]);
        super.addEventListener("message", (event) => chunk(channel, event.data.length, event.data));
        super.addEventListener("error", () => ended(channel, "error"));
      }

      addEventListener(type, ...rest) {
        // Named events (`event: delta`): our listener goes first.
        if (!this.__benchTypes.has(type) && type !== "open" && type !== "error") {
          this.__benchTypes.add(type);
          const channel = this.__benchChannel;
          super.addEventListener(type, (event) => chunk(channel, String(event.data).length, String(event.data)));
        }
        return super.addEventListener(type, ...rest);
      }

      close() {
        ended(this.__benchChannel, "closed");
        return super.close();
      }
    }
    window.EventSource = BenchEventSource;
  }

  const NativeWebSocket = window.WebSocket;
  class BenchStreamWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      const channel = { id: nextChannel++, kind: "websocket", sentSince: null };
      this.__benchChannel = channel;
      this.addEventListener("message", (event) => {
        const data = event.data;
        chunk(channel, typeof data === "string" ? data.length : data.byteLength ?? data.size ?? 0, data);
      });
      this.addEventListener("close", () => ended(channel, "closed"));
    }

    send(data) {
      request("websocket", this.url);
      if (reply) this.__benchChannel.sentSince = reply.seq;
      return super.send(data);
    }
  }
  window.WebSocket = BenchStreamWebSocket;

  // --- the reply's text in the DOM, and the frame that shows it -----------
  // The frame that shows a growth: the frame sentinel (sentinel.js).
  /* include: sentinel.js */

  const paintedAt = frames.channel((chunks, paint, paintRaw) => {
    for (const c of chunks) {
      c.paint = paint;
      c.paintRaw = paintRaw;
    }
  });

  // The reply's element, found once: a query per mutation would cost O(DOM)
  // on every chunk. Looked up again only if the page replaced it.
  function replyElement() {
    if (reply.el && reply.el.isConnected) return reply.el;
    reply.el = newestReply();
    return reply.el;
  }

  function newestReply() {
    let matches;
    try {
      matches = document.querySelectorAll(reply.replySelector);
    } catch {
      return null;
    }
    const el = matches[matches.length - 1];
    return el && el !== reply.before ? el : null;
  }

  // inFrame: the change was made inside a rAF callback, in the frame's own
  // main-thread work, rather than in a task before it: the trace matches it
  // to that frame, not the next one (bench/probes/stream.py).
  function onMutations(mutations, inFrame) {
    if (!reply || reply.chunks.length === 0) return;
    if (mutations.every((m) => frames.owns(m.target))) return;
    const t = now();
    const el = replyElement();
    if (!el) return;
    const length = el.textContent.length;
    if (length <= reply.length) return;
    reply.length = length;
    const grow = reply.grew.length;
    if (grow === 0) preamble(el.textContent);
    reply.grew.push([t, length]);
    // Chunks before reply.domUpTo all have their DOM time: only the new ones are visited.
    for (; reply.domUpTo < reply.chunks.length; reply.domUpTo++) {
      const c = reply.chunks[reply.domUpTo];
      c.dom = t;
      c.len = length;
      c.grow = grow;
      if (inFrame) c.inFrame = true;
      if (reply.paints) paintedAt.add(c);
    }
    if (reply.wake) reply.wake();
  }
  const observer = new MutationObserver((mutations) => onMutations(mutations, false));

  // The page's rAF callbacks: what one changed in the reply is taken from
  // the observer as it returns, still inside the frame (the observer's own
  // callback would run after it, where it could not be told from a task's).
  const nativeRequestAnimationFrame = window.requestAnimationFrame;
  window.requestAnimationFrame = function requestAnimationFrame(callback) {
    if (typeof callback !== "function") return nativeRequestAnimationFrame.call(window, callback);
    return nativeRequestAnimationFrame.call(window, (t) => {
      try {
        callback(t);
      } finally {
        if (reply && reply.chunks.length > 0) {
          const records = observer.takeRecords();
          if (records.length) onMutations(records, true);
        }
      }
    });
  };
  // The first growth's text names the chunk that carried it: the first of
  // the chunks waiting for it whose payload holds the text's first word (its
  // first three letters or digits; JSON's \uXXXX escapes decoded). The
  // chunks before that one carried no reply text: they are left without a
  // DOM time (textless, marked preamble). No chunk holding it (a first word
  // split over two chunks, text the page transformed): all of them wait for
  // the growth, as every later group of chunks does.
  function preamble(text) {
    const word = text.match(/[\p{L}\p{N}]+/u);
    const needle = word ? word[0].slice(0, 3) : text.trim().slice(0, 1);
    const group = reply.chunks.slice(reply.domUpTo);
    const holds = (c) => typeof c.head === "string" &&
      c.head.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))).includes(needle);
    const first = needle === "" ? -1 : group.findIndex(holds);
    for (let i = 0; i < first; i++) group[i].preamble = true;
    if (first > 0) reply.domUpTo += first;
    for (const c of reply.chunks) delete c.head;
  }

  // The DOM is watched only while a reply is armed: between replies the
  // page's own changes (its other messages, its UI) cost it no records.
  const startObserving = () => observer.observe(document, { childList: true, subtree: true, characterData: true });
  function stopObserving(own) {
    if (reply === own) reply = null;
    if (reply === null) observer.disconnect();
  }

  // --- frames while the reply streams --------------------------------------
  function recordFrames(own) {
    requestAnimationFrame(function onFrame(t) {
      if (reply !== own) return;
      own.frames.push(t);
      requestAnimationFrame(onFrame);
    });
  }

  // Polls are on a timer, not on animation frames: a rAF loop of its own
  // would make the page run frames it would not otherwise run.
  const POLL_MS = 20;
  function poll() {
    return new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }

  function doneSeen() {
    if (!reply.doneSelector) return true;
    try {
      return document.querySelectorAll(reply.doneSelector).length > reply.doneBefore;
    } catch {
      return false;
    }
  }

  // Trailing chunks that add no text (a `data: [DONE]` event) never reach
  // the DOM: this long after the end they are counted as textless.
  const TEXTLESS_AFTER_MS = 60;

  // The end of a reply, awaited without running anything per chunk or per
  // frame: what can end it (the stream closing, the reply's text growing)
  // wakes it. Only a done selector is polled: its match can come from an
  // attribute, which the DOM observer does not watch.
  function ending(own, deadline) {
    return new Promise((resolve) => {
      let grace = null;
      let pollTimer = null;
      const over = (how) => {
        own.wake = null;
        clearTimeout(grace);
        clearTimeout(pollTimer);
        clearTimeout(limit);
        resolve(how);
      };
      const limit = setTimeout(() => over("timeout"), Math.max(0, deadline - now()));
      own.wake = () => {
        if (own.ended?.how === "broken") {
          over("broken");
          return;
        }
        const finished = own.doneSelector ? own.chunks.length > 0 && doneSeen() : own.ended !== null;
        if (!finished) return;
        if (own.domUpTo === own.chunks.length) over("done");
        else if (own.length > 0 && grace === null) grace = setTimeout(() => over("done"), TEXTLESS_AFTER_MS);
      };
      if (own.doneSelector) {
        const tick = () => {
          if (!own.wake) return;
          own.wake();
          if (own.wake) pollTimer = setTimeout(tick, POLL_MS);
        };
        tick();
      } else {
        own.wake();
      }
    });
  }
  // Before the trace stops it must hold the presentation of the frame with
  // the reply's last change. The next animation frame is that frame (it was
  // wanted for the change, so waiting for it makes no frame of its own); its
  // presentation follows its main-thread work by 1-2 ms, before the next
  // frame begins, but can come later behind a late activation (seen: 80 ms
  // under 140 ms tasks). So: that frame, one more (about 0.6 ms of
  // main-thread work once per reply), then SETTLE_MS (0: the last chunk was
  // now and then counted unpainted; 20 ms: none in 24 replies).
  const SETTLE_MS = 20;
  function settled() {
    const frame = (callback) => nativeRequestAnimationFrame.call(window, callback);
    return new Promise((resolve) => frame(() => frame(() => setTimeout(resolve, SETTLE_MS))));
  }
  let seq = 0;
  let last = null;  // the last armed reply, kept after stopObserving() lets it go
  window.__benchStream = {
    // Start measuring one reply; the start actions run right after.
    // frames: rAF frame times from the first chunk on; paints: each chunk's
    // paint from the frame sentinel. Both off when Python reads them from a
    // trace instead (bench/probes/stream.py): the page then runs no code per
    // frame, and none per chunk beyond the stamps.
    //
    // The reply's end is watched from here on (its deadline runs from now):
    // once it is over, result() holds its record and the page logs
    // console.debug(`${signal} ${seq}`) (`signal` is Python's word, when it
    // waits for the line: Playwright's console event wakes it, with no
    // polling), so Python reads the record with one evaluate of a settled
    // promise instead of holding an evaluate open on a pending one (about
    // 0.7 ms more of the page's main thread per reply). The line is at the
    // Verbose level, which DevTools hides by default. clockMark:
    // performance.mark(clockMark), which ties the page clock to a trace
    // started just before (one evaluate fewer than a mark of its own).
    arm(replySelector, transport, doneSelector, frames = true, paints = true,
        { timeoutMs = 30000, stableFrames = 6, endStamp = null, clockMark = null, signal = null } = {}) {
      if (clockMark) performance.mark(clockMark);
      let before = null;
      try {
        const matches = document.querySelectorAll(replySelector);
        before = matches[matches.length - 1] || null;
      } catch {
        return { error: `reply selector ${JSON.stringify(replySelector)} is not a valid CSS selector` };
      }
      let doneBefore = 0;
      if (doneSelector) {
        try {
          doneBefore = document.querySelectorAll(doneSelector).length;
        } catch {
          return { error: `done selector ${JSON.stringify(doneSelector)} is not a valid CSS selector` };
        }
      }
      reply = {
        seq: ++seq, replySelector, transport, doneSelector, doneBefore, before, recordFrames: frames, paints,
        armed: now(), request: null, channel: null, kind: null, chunks: [], grew: [], length: 0,
        ended: null, frames: [], recordingFrames: false, el: null, domUpTo: 0, wake: null,
      };
      startObserving();
      const own = reply;
      last = own;
      own.result = finish(own, timeoutMs, stableFrames, endStamp).then((record) => {
        if (signal) debug(`${signal} ${own.seq}`);
        return record;
      });
      return { armed: own.armed, seq: own.seq };
    },

    // The last armed reply's record: a promise, settled once the page signalled.
    result() { return last && last.result; },

    disarm() { stopObserving(reply); },
  };

  // Resolve once the reply ended (stream closed, or the done selector
  // matched a new element) and its chunks' paints stopped arriving, or
  // with {error} naming what did not happen within timeoutMs. With
  // endStamp: console.timeStamp(endStamp) after the frame that shows the
  // last chunk has done its main-thread work.
  async function finish(own, timeoutMs, stableFrames, endStamp) {
    const deadline = own.armed + timeoutMs;
    const failed = (error) => { stopObserving(own); return JSON.stringify({ error, ...summary(own) }); };
    const how = await ending(own, deadline);
    if (how === "broken") return failed("stream-broke");
    if (how === "timeout") {
      if (own.request === null) return failed("no-request");
      if (own.chunks.length === 0) return failed("no-chunk");
      if (own.length === 0) return failed("reply-never-filled");
      return failed("never-ended");
    }
    // After the frame that shows the last chunk: a task posted from the next rAF turn.
    if (endStamp) requestAnimationFrame(() => setTimeout(() => timeStamp(endStamp), 0));
    if (!own.paints) {
      // Paints come from the trace: it must hold the presentation of the
      // frame with the last change, a frame or two after its commit.
      await settled();
      stopObserving(own);
      return JSON.stringify(summary(own));
    }
    let painted = -1;
    let stable = 0;
    while (stable < stableFrames && performance.now() < deadline) {
      await poll();
      const count = own.chunks.filter((c) => c.paint !== null).length;
      stable = count === painted ? stable + 1 : 0;
      painted = count;
      if (count === own.chunks.length) break;
    }
    stopObserving(own);
    return JSON.stringify(summary(own));
  }

  function summary(own) {
    return {
      armed: own.armed, request: own.request, kind: own.kind, chunks: own.chunks, grew: own.grew,
      ended: own.ended, frames: own.frames, length: own.length,
    };
  }
})();
