// Small progressive enhancements. Nothing here stores or computes balances: fragments come from the server.
(function () {
  "use strict";
  // Links meant for browsers without JavaScript stay hidden; show them if htmx failed to load.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) {
      document.querySelectorAll(".no-js").forEach(function (el) { el.style.display = "inline"; });
    }
  });
})();
