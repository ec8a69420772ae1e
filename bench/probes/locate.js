// `bench profile init` (bench/run/profile_init.py): where did the received messages' texts
// appear? Evaluated by Playwright as a function of the needles (the first line of each received
// message's text; the first one is the message the templates came from); returns plain data:
// the list (the nearest ancestor of that message's newest text that scrolls, else the page), a
// selector for the element that holds one message and how many elements it matches, and the path
// to the text's element.
(needles) => {
  const tag = (el) => el.tagName.toLowerCase();
  const classes = (el) => [...el.classList];
  const selectorFor = (el) => el === document.documentElement ? "html" : el.id ? "#" + CSS.escape(el.id)
    : tag(el) + classes(el).map((c) => "." + CSS.escape(c)).join("");
  // Of a kind: the same tag, and a class in common (or no class either).
  const akin = (a, b) => a.tagName === b.tagName && (a.classList.length + b.classList.length === 0
                                                     || classes(a).some((c) => b.classList.contains(c)));
  const peers = (el) => [...el.parentElement.children].filter((c) => c !== el && akin(c, el));
  const hits = needles.map(() => []);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    needles.forEach((needle, i) => { if (node.data.includes(needle)) hits[i].push(node); });
  }
  if (!hits[0].length) return { found: false };
  const text = hits[0][hits[0].length - 1];  // the last one: the newest message
  let list = null;
  for (let el = text.parentElement; el && el !== document.documentElement; el = el.parentElement) {
    if (/(auto|scroll)/.test(getComputedStyle(el).overflowY)) { list = el; break; }
  }
  const container = list || document.body;
  const listSelector = list ? selectorFor(list) : "html";
  const path = [];  // the text's element and its ancestors below the list, innermost first
  for (let el = text.parentElement; el && el !== container; el = el.parentElement) path.push(el);
  const where = [list ? listSelector : "", ...path.map(selectorFor).reverse()].filter(Boolean).join(" > ");
  if (!path.length) return { found: true, list: listSelector, message: null, count: 0, where };
  // The element that holds one message: the innermost on the text's path with a sibling of its
  // kind that holds another received message's text (a day's group of messages is not one, a
  // quote of another message inside this one is not another message); with no such text (one
  // message came), the innermost with a sibling of its kind; else a list item; else the list's child.
  let index = -1;
  for (const other of hits.flat()) {
    if (other === text || !container.contains(other)) continue;
    const shared = path.findIndex((el) => el.contains(other));  // -1: only the list holds both
    const i = shared === -1 ? path.length - 1 : shared - 1;
    if (i < 0 || (index >= 0 && i >= index)) continue;
    const sibling = [...path[i].parentElement.children].find((c) => c.contains(other));
    if (akin(sibling, path[i])) index = i;
  }
  if (index < 0) index = path.findIndex((el) => peers(el).length > 0);
  if (index < 0) index = path.findIndex((el) => /^(li|article)$/.test(tag(el))
                                             || /^(listitem|article)$/.test(el.getAttribute("role") || ""));
  if (index < 0) index = path.length - 1;
  const message = path[index];
  // Its kind: its tag and the classes its kind share (a state class such as "mine" left out).
  const shared = classes(message).filter((c) => peers(message).every((p) => p.classList.contains(c)));
  const kind = tag(message) + shared.map((c) => "." + CSS.escape(c)).join("");
  // The whole chain from the list (from the page's body: "#messages > li"), or a shorter one that
  // matches the same elements (the message itself among them): the list's child, its descendant.
  const chain = [list ? listSelector : "", ...path.slice(index + 1).map(selectorFor).reverse(), kind]
    .filter(Boolean).join(" > ");
  const matches = (selector) => [...document.querySelectorAll(selector)];
  const exact = matches(chain);
  const same = (selector) => {
    const found = matches(selector);
    return found.length === exact.length && found.every((el, i) => el === exact[i]);
  };
  const selector = (list ? [listSelector + " > " + kind, listSelector + " " + kind] : []).find(same) || chain;
  return { found: true, list: listSelector, message: selector, count: exact.length, where };
}
