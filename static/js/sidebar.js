// On narrow screens the sidebar folds away; its toggle in the top bar opens and closes it.
(function () {
  "use strict";

  function setOpen(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle("sidebar-open", open);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("#sidebar-toggle");
    if (toggle) {
      setOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
    }
  });

  // Esc closes an open sidebar and gives focus back to its toggle; otherwise Esc is left alone
  // (capture phase, so that closing the sidebar is all that this Esc does).
  document.addEventListener("keydown", function (event) {
    var toggle = document.getElementById("sidebar-toggle");
    if (event.key !== "Escape" || event.shiftKey || !toggle) {
      return;
    }
    if (toggle.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      setOpen(toggle, false);
      toggle.focus();
    }
  }, true);
})();
