/* Reader fixes for sphinx-book-theme 1.3 on pydata-sphinx-theme 0.17 (see book/_ext/book_reader.py).
 *
 * Sidebar toggles. Both themes bind their handlers to the *first* `.primary-toggle` and
 * `.secondary-toggle` of the page (document.querySelector). When the top header is rendered
 * (pydata-sphinx-theme's default navbar_persistent), its hidden buttons come first and the
 * buttons a reader sees, in the article header, do nothing. _config.yml empties the header;
 * should it come back, a tap on any other toggle is handed here to that first button, which
 * carries the themes' behaviour: on a narrow screen it opens the sidebar as a dialog, on a wide
 * one (>= 992 px) it folds the primary sidebar away and back.
 */
(function () {
  "use strict";

  function forwardToggles(selector) {
    const bound = document.querySelector(selector);
    if (!bound) return;
    document.querySelectorAll(selector).forEach((button) => {
      if (button === bound) return;
      button.addEventListener(
        "click",
        (event) => {
          event.preventDefault();
          event.stopImmediatePropagation();
          button.blur(); // drop the tooltip the focus left behind
          bound.click();
        },
        true,
      );
    });
  }

  function setup() {
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
