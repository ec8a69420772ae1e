// `bench profile init`: look at a chat page and guess its message list.
// Evaluated by Playwright as a function; returns plain data.
() => {
  // Every element, in the document and in open shadow roots.
  function* allElements(root) {
    for (const el of root.querySelectorAll("*")) {
      yield el;
      if (el.shadowRoot) yield* allElements(el.shadowRoot);
    }
  }

  function selectorFor(el) {
    if (el === document.documentElement) return "html";
    if (el.id) return "#" + CSS.escape(el.id);
    const tag = el.tagName.toLowerCase();
    const classes = [...el.classList].map((c) => "." + CSS.escape(c)).join("");
    return tag + classes;
  }

  // Scroll containers: overflow-y auto/scroll. An empty chat does not
  // overflow yet, so the style counts, not the current scrollHeight.
  const candidates = [];
  for (const el of allElements(document)) {
    const style = getComputedStyle(el);
    if (!/(auto|scroll)/.test(style.overflowY)) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width * rect.height < 10000) continue;  // not a message list
    candidates.push({ el, area: rect.width * rect.height,
                      overflowing: el.scrollHeight > el.clientHeight });
  }
  candidates.sort((a, b) => (b.overflowing - a.overflowing) || (b.area - a.area));
  const pageScrolls = document.documentElement.scrollHeight > window.innerHeight;
  const list = candidates.length ? candidates[0].el : document.documentElement;

  // The commonest kind of child of the list is the message.
  const counts = new Map();
  const container = list === document.documentElement ? document.body : list;
  const children = [...container.children, ...(container.shadowRoot ? container.shadowRoot.children : [])];
  for (const child of children) {
    const key = selectorFor(child).replace(/^#.*/, child.tagName.toLowerCase());
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const message = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];

  return {
    list: selectorFor(list),
    listCandidates: candidates.slice(0, 5).map((c) => selectorFor(c.el)),
    pageScrolls,
    message: message ? message[0] : null,
    messageCount: message ? message[1] : 0,
  };
}
