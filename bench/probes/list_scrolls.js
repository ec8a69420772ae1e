// `bench profile check`: does dom.list scroll? Scrolls it to the other end and back;
// evaluated on the list element (the page's scrolling element for "html"). When it has
// nothing to scroll yet, the nearest ancestor whose content does overflow is named: that
// one scrolls, not the list (a list that is a scroll container with too few messages in
// it to fill it has none).
(el) => {
  if (el === document.documentElement) el = document.scrollingElement;
  const before = el.scrollTop;
  el.scrollTop = before > 0 ? 0 : el.scrollHeight;
  const moved = el.scrollTop !== before;
  el.scrollTop = before;
  const name = (a) => a.tagName.toLowerCase() + (a.id ? `#${a.id}` : "")
    + [...a.classList].map((c) => `.${c}`).join("");
  let scrollingAncestor = null;
  for (let a = el.parentElement || el.getRootNode().host; a && !scrollingAncestor;
       a = a.parentElement || a.getRootNode().host) {
    const root = a === document.documentElement || a === document.body;
    const box = root ? document.scrollingElement : a;
    const scrolls = root || /auto|scroll|overlay/.test(getComputedStyle(a).overflowY);
    if (scrolls && box.scrollHeight > box.clientHeight) scrollingAncestor = root ? "the page" : name(a);
  }
  return { moved, scrollHeight: el.scrollHeight, clientHeight: el.clientHeight,
           overflowY: getComputedStyle(el).overflowY, scrollingAncestor };
}
