// Small helpers the page's panels share: building elements with text only (never markup), and
// following one call at a time (a rejoin makes a new call; the old one's events must not act).

/** An element *tag* with *className* and, as textContent, *text* (markup in it stays characters). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Wrap handlers of *call*'s events so they act only while `owner.call` is still that call. */
export function whileCurrent(owner, call) {
  return (fn) => (...args) => {
    if (owner.call === call) fn(...args);
  };
}
