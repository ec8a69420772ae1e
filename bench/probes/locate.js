// `bench profile init`: where did a message's text appear? Returns the
// element it became (the ancestor that is a direct child of its list) and the
// list: the nearest ancestor that scrolls (overflow-y auto/scroll), or the page.
// Evaluated by Playwright as a function of the text; returns plain data.
(needle) => {
  function selectorFor(el) {
    if (el === document.documentElement) return "html";
    if (el.id) return "#" + CSS.escape(el.id);
    const classes = [...el.classList].map((c) => "." + CSS.escape(c)).join("");
    return el.tagName.toLowerCase() + classes;
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let textNode = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.data.includes(needle)) textNode = node;  // the last one: the newest message
  }
  if (!textNode) return { found: false };
  let list = null, message = textNode.parentElement;
  for (let el = textNode.parentElement; el && el !== document.documentElement; el = el.parentElement) {
    if (/(auto|scroll)/.test(getComputedStyle(el).overflowY)) { list = el; break; }
  }
  const container = list || document.body;
  // Up to the list's child, or to the first element that has siblings like it.
  const alike = (el) => [...el.parentElement.children].filter((c) => c !== el && c.tagName === el.tagName).length;
  while (message.parentElement && message.parentElement !== container && !alike(message)) message = message.parentElement;
  const listSelector = list ? selectorFor(list) : "html";
  const messageSelector = (list ? listSelector + " > " : "") + selectorFor(message).replace(/^#.*/, message.tagName.toLowerCase());
  return { found: true, list: listSelector, message: messageSelector,
           count: document.querySelectorAll(messageSelector).length };
}
