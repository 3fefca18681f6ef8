// A search result opens its conversation at the message it found: scrolled to and highlighted.
(function () {
  "use strict";

  // Runs after chat.js's own DOMContentLoaded handler, which scrolls to the newest message.
  document.addEventListener("DOMContentLoaded", function () {
    if (!/^#message-\d+$/.test(window.location.hash)) {
      return;
    }
    var message = document.getElementById(window.location.hash.slice(1));
    if (message) {
      message.scrollIntoView({ block: "center" });
    }
  });
})();
