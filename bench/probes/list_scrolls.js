// `bench profile check`: does dom.list scroll? Scrolls it to the other end and back;
// evaluated on the list element (the page's scrolling element for "html").
(el) => {
  if (el === document.documentElement) el = document.scrollingElement;
  const before = el.scrollTop;
  el.scrollTop = before > 0 ? 0 : el.scrollHeight;
  const moved = el.scrollTop !== before;
  el.scrollTop = before;
  return { moved, scrollHeight: el.scrollHeight, clientHeight: el.clientHeight,
           overflowY: getComputedStyle(el).overflowY };
}
