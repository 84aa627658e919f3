// Scrolls the page preview to the cited passage: once the page image has loaded, and again when
// zooming changes its size. The image carries the passage's top in its own pixels
// (data-focus-top). A static file, so the Content-Security-Policy needs no inline script or eval.
(() => {
  const MARGIN = 48;
  const focus = (img) => {
    const frame = img.closest(".td-page-frame");
    if (!frame || !img.complete || !img.naturalWidth) return;
    const top = parseFloat(img.dataset.focusTop || "0") || 0;
    frame.scrollTop = Math.max(0, (top * img.clientWidth) / img.naturalWidth - MARGIN);
  };
  const resized = new ResizeObserver((entries) => entries.forEach((e) => focus(e.target)));
  const watch = (img) => {
    if (img.dataset.tdWatched) return;
    img.dataset.tdWatched = "1";
    img.addEventListener("load", () => focus(img));
    resized.observe(img);
    focus(img);
  };
  const scan = (root) => {
    if (root.nodeType !== 1) return;
    if (root.matches("img.td-page-image")) watch(root);
    root.querySelectorAll("img.td-page-image").forEach(watch);
  };
  const start = () => {
    scan(document.body);
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        m.addedNodes.forEach(scan);
        if (m.type === "attributes" && m.target.matches?.("img.td-page-image")) focus(m.target);
      }
    }).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["data-focus-top"],
    });
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
