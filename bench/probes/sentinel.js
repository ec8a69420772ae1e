  // --- the frame sentinel (shared: probe_script includes it) ---------------
  // The presentation time of "the first frame after now", for things that
  // have no Element Timing of their own: a message scrolled out of view, a
  // keystroke, a streamed chunk, text in a shadow tree. Marking inserts a
  // one-character element into a persistent, nearly transparent 1x1 box
  // fixed in the viewport's corner; the rendering update that follows paints
  // it, and its Element Timing renderTime is that frame's presentation time.
  //
  // What keeps it cheap (benchmarks/stream_cost.py):
  // - one element per frame, whoever asked: every probe that includes this
  //   file shares one instance (window.__benchSentinel), so a keystroke that
  //   also delivers a message costs one element, not two;
  // - the box is created once, with `contain: strict`: each new element
  //   invalidates that box only, and no new layer is made per frame;
  // - a reported element is removed with the next insertion (the same
  //   rendering update), never on its own: a removal is a DOM change that
  //   would make the page render a frame for it alone.
  //
  // frames.channel(onPresented) -> {add(item)}: add() puts an item on the
  // current frame; once that frame is presented, onPresented(items, paint,
  // paintRaw) gets all of that channel's items of the frame.
  /* include: presentation.js */

  const frames = window.__benchSentinel || (() => {
    const BOX_STYLE = "position:fixed;left:0;top:0;width:1px;height:1px;overflow:hidden;" +
      "font:1px/1px monospace;color:rgba(0,0,0,0.01);pointer-events:none;z-index:2147483647;contain:strict";
    let box = null;
    let current = null;           // the frame being built: {el, lists: Map(channel -> items)}
    const waiting = new Map();    // elementtiming identifier -> frame
    const reported = [];          // elements already reported, removed with the next insertion
    let next = 0;

    function attachedBox() {
      if (box && box.isConnected) return box;
      box = document.createElement("div");
      box.setAttribute("style", BOX_STYLE);
      box.setAttribute("aria-hidden", "true");
      box.setAttribute("data-bench", "frames");
      (document.body || document.documentElement).appendChild(box);
      return box;
    }

    function frame() {
      if (current) return current;
      for (const el of reported) el.remove();
      reported.length = 0;
      // A block of its own (Element Timing reports text under its block
      // container), stacked on the others in the 1x1 box, so it is painted.
      const el = document.createElement("div");
      el.setAttribute("style", "position:absolute;left:0;top:0");
      const identifier = "bench-frame:" + next++;
      el.setAttribute("elementtiming", identifier);
      el.textContent = "\u00b7";
      current = { el, lists: new Map() };
      waiting.set(identifier, current);
      attachedBox().appendChild(el);
      // One element serves one frame: retired at the next animation frame,
      // before that frame paints anything new.
      const mine = current;
      requestAnimationFrame(() => { if (current === mine) current = null; });
      return current;
    }

    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const done = waiting.get(entry.identifier);
        if (!done) continue;
        waiting.delete(entry.identifier);
        reported.push(done.el);
        const paint = presentationEstimate(entry);
        const raw = entry.presentationTime || entry.renderTime;
        for (const [channel, items] of done.lists) channel.onPresented(items, paint, raw);
      }
    }).observe({ type: "element", buffered: true });

    const api = {
      channel(onPresented) {
        const channel = { onPresented };
        channel.add = (item) => {
          const lists = frame().lists;
          const items = lists.get(channel);
          if (items) items.push(item);
          else lists.set(channel, [item]);
        };
        return channel;
      },
      // This frame's element now, before the page's own code runs for what
      // just arrived: a page that reads layout while it renders (a chat's
      // autoscroll) then lays the element out with its own change, where one
      // inserted after that read costs the frame a second style recalc and
      // layout (benchmarks/stream_cost.py).
      prepare: () => { frame(); },
      // A mutation record of the sentinel itself: observers of the page's DOM skip it.
      owns: (node) => node === box,
    };
    Object.defineProperty(window, "__benchSentinel", { value: api });
    return api;
  })();
