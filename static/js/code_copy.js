// A "Copy code" button above each code block of a rendered answer (needs the async clipboard API).
(function () {
  "use strict";

  var LANGUAGE_CLASS_PREFIX = "language-";
  var FEEDBACK_MILLISECONDS = 2000;

  function languageOf(pre) {
    var code = pre.querySelector("code");
    var names = code ? Array.from(code.classList) : [];
    for (var i = 0; i < names.length; i++) {
      if (names[i].indexOf(LANGUAGE_CLASS_PREFIX) === 0) {
        return names[i].slice(LANGUAGE_CLASS_PREFIX.length);
      }
    }
    return "";
  }

  function wrapCodeBlock(pre) {
    var block = document.createElement("div");
    block.className = "code-block";
    var bar = document.createElement("div");
    bar.className = "code-block__bar";
    var language = document.createElement("span");
    language.textContent = languageOf(pre);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small button--secondary code-block__copy";
    button.textContent = "Copy code";
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    bar.append(language, button, status);
    pre.replaceWith(block);
    block.append(bar, pre);
  }

  function addCopyButtons(root) {
    root.querySelectorAll(".markdown pre").forEach(function (pre) {
      if (!pre.parentElement.classList.contains("code-block")) {
        wrapCodeBlock(pre);
      }
    });
  }

  function showResult(button, text) {
    var status = button.parentElement.querySelector("[role=status]");
    button.textContent = text;
    status.textContent = text;
    setTimeout(function () {
      button.textContent = "Copy code";
      status.textContent = "";
    }, FEEDBACK_MILLISECONDS);
  }

  // Without a secure context there is no clipboard API, so no button that could not work.
  if (!navigator.clipboard) {
    return;
  }

  // htmx:load fires for the page once htmx starts and for every swapped-in element, including
  // the final render of an answer that arrives over the websocket.
  document.addEventListener("htmx:load", function (event) {
    addCopyButtons(event.detail.elt);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".code-block__copy");
    if (!button) {
      return;
    }
    var code = button.closest(".code-block").querySelector("pre");
    navigator.clipboard.writeText(code.textContent).then(
      function () {
        showResult(button, "Copied");
      },
      function () {
        showResult(button, "Copy failed");
      },
    );
  });
})();
