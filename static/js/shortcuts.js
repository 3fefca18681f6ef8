// Keyboard shortcuts for the whole site, listed in the help dialog that "?" opens.
(function () {
  "use strict";

  function isTyping(target) {
    return (
      target instanceof HTMLInputElement ||
      target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement ||
      (target instanceof HTMLElement && target.isContentEditable)
    );
  }

  function openSidebarIfFolded() {
    var toggle = document.getElementById("sidebar-toggle");
    if (toggle && toggle.offsetParent !== null && toggle.getAttribute("aria-expanded") !== "true") {
      toggle.click();
    }
  }

  function focusSearch() {
    var search = document.getElementById("chat-search");
    if (!search) {
      window.location.assign("/search/");
      return;
    }
    openSidebarIfFolded();
    search.focus();
    search.select();
  }

  function focusComposer() {
    var composer = document.querySelector("#composer textarea");
    if (composer) {
      composer.focus();
    }
  }

  function startNewChat() {
    var form = document.getElementById("shortcut-new-chat");
    if (form) {
      form.submit();
    }
  }

  function showHelp() {
    var help = document.getElementById("shortcuts-help");
    if (help && !help.open) {
      help.showModal();
    }
  }

  // Capture phase: Shift+Esc must reach us before chat.js reads a plain Esc as "stop".
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    var command = event.ctrlKey || event.metaKey;
    var key = event.key.toLowerCase();
    var action = null;
    if (command && event.shiftKey && key === "o") {
      action = startNewChat;
    } else if (command && !event.shiftKey && key === "k") {
      action = focusSearch;
    } else if (event.shiftKey && event.key === "Escape") {
      action = focusComposer;
    } else if (!command && !event.altKey && !isTyping(event.target)) {
      if (event.key === "/") {
        action = focusSearch;
      } else if (event.key === "?") {
        action = showHelp;
      }
    }
    if (action) {
      event.preventDefault();
      action();
    }
  }, true);
})();
