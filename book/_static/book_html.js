/* Runtime fixes to the book's pages; the build-time half and the reasons are in
 * book/_ext/book_html.py. */
(() => {
  "use strict";

  /* Downloads from disk. Every link of the download menu carries `download`, which saves the
   * file over http(s); Chromium ignores it on file:// pages and shows the file instead. There
   * the build wrote `<file>.js` beside each file, calling window.bookHtmlDeliver(name, base64):
   * load it and save its bytes under the file's own name. */
  window.bookHtmlDeliver = (name, base64) => {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  };

  document.addEventListener("click", (event) => {
    if (window.location.protocol !== "file:") return;
    const link = event.target.closest && event.target.closest("a[download]");
    if (!link || link.protocol !== "file:") return;
    event.preventDefault();
    const script = document.createElement("script");
    script.src = link.href + ".js";
    script.onload = () => script.remove();
    script.onerror = () => {
      script.remove();
      window.location.href = link.href; // no saved copy: show the file, as before
    };
    document.head.appendChild(script);
  });

  /* Scrollable code cells and outputs need a tab stop (keyboard users scroll them). The theme
   * sets them on `load` and, debounced, on resize, and so can leave a cell that overflows only
   * later without one: once fonts or MathJax have settled, or once the sidebars' CSS
   * transitions (a quarter of a second after the page opens or the window widens) have moved
   * the column's edge. Set them again at those moments. */
  const SCROLLABLE = "pre, .cell_output > .output, .pst-scrollable-table-container";
  const updateTabStops = () => {
    document.querySelectorAll(SCROLLABLE).forEach((el) => {
      const scrolls = el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight;
      if (scrolls) el.tabIndex = 0;
      else if (el.getAttribute("tabindex") === "0") el.tabIndex = -1;
    });
  };
  const whenSettled = () => {
    updateTabStops();
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(updateTabStops);
    const mathjax = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    if (mathjax) mathjax.then(updateTabStops);
    let queued = false;
    const soon = () => {
      if (queued) return;
      queued = true;
      window.requestAnimationFrame(() => {
        queued = false;
        updateTabStops();
      });
    };
    window.addEventListener("resize", soon);
    document.addEventListener("transitionend", soon);
    document.addEventListener("transitioncancel", soon);
  };
  if (document.readyState === "complete") whenSettled();
  else window.addEventListener("load", whenSettled);
})();
