// The chat page's composer keys and its reactions to the htmx websocket extension's events.
(function () {
  "use strict";

  // Close codes after which the ws extension reconnects by itself.
  var RECONNECTING_CODES = [1006, 1011, 1012, 1013];
  var CLOSE_MESSAGES = {
    4401: "You are signed out. Log in again to keep chatting.",
    4404: "This conversation no longer exists.",
  };

  function scrollMessagesToBottom() {
    var messages = document.getElementById("messages");
    if (messages) {
      messages.scrollTop = messages.scrollHeight;
    }
  }

  function showSocketStatus(text) {
    var slot = document.getElementById("socket-errors");
    if (!slot) {
      return;
    }
    slot.replaceChildren();
    if (text) {
      var note = document.createElement("p");
      note.className = "error";
      note.textContent = text;
      slot.appendChild(note);
    }
  }

  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.closest("#composer")) {
      return;
    }
    // isComposing: Enter that confirms an input-method composition (e.g. Japanese) must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) {
      return;
    }
    event.preventDefault();
    if (textarea.value.trim()) {
      textarea.form.requestSubmit();
    }
  });

  // Esc stops the streaming answer, from anywhere on the page (the Stop form shows only then).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) {
      return;
    }
    var stop = document.getElementById("stop-answer");
    if (stop && stop.offsetParent !== null) {
      event.preventDefault();
      stop.requestSubmit();
    }
  });

  // "Edit last message" puts that message in the composer; sending it then replaces the message.
  function setEditing(editing) {
    var form = document.getElementById("composer");
    var note = document.getElementById("editing-note");
    if (!form || !note) {
      return;
    }
    form.elements.edit.value = editing ? "1" : "";
    note.hidden = !editing;
    if (editing) {
      var mine = document.querySelectorAll("#messages .message--user .message__text");
      if (mine.length) {
        form.elements.message.value = mine[mine.length - 1].textContent;
      }
      form.elements.message.focus();
    }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#edit-last-message")) {
      setEditing(true);
    } else if (event.target.closest("#cancel-edit")) {
      setEditing(false);
    }
  });

  document.addEventListener("htmx:wsAfterSend", function (event) {
    var form = event.target.closest("#composer");
    if (!form) {
      return;
    }
    form.reset();
    setEditing(false);
    form.elements.message.focus();
    showSocketStatus("");
  });

  document.addEventListener("htmx:wsAfterMessage", scrollMessagesToBottom);

  // Frames can be lost with the socket still open (Redis restarting between the server's
  // processes): a page that has heard nothing for a while while it shows an answer as streaming
  // asks how its answers ended, as after a reconnect, so none shows as typing for ever.
  var SILENCE_BEFORE_ASKING_MS = 10000;
  var openSocket = null;
  var lastHeard = Date.now();

  function streamingAnswerIds() {
    var streaming = document.querySelectorAll("#messages .message--assistant.message--streaming");
    return Array.prototype.map.call(streaming, function (article) {
      return parseInt(article.id.replace("message-", ""), 10);
    });
  }

  function askHowAnswersEnded(socket) {
    var ids = streamingAnswerIds();
    if (ids.length) {
      socket.wrapper.send(JSON.stringify({ ended: ids }), socket.element);
    }
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    lastHeard = Date.now();
  });

  setInterval(function () {
    if (openSocket && Date.now() - lastHeard >= SILENCE_BEFORE_ASKING_MS) {
      lastHeard = Date.now();
      askHowAnswersEnded(openSocket);
    }
  }, 1000);

  // The composer says whether its socket is open, for styling and for browser tests.
  function markSocket(event, state) {
    var composer = event.target.closest(".composer");
    if (composer) {
      composer.dataset.socket = state;
    }
  }

  document.addEventListener("htmx:wsOpen", function (event) {
    markSocket(event, "open");
    showSocketStatus("");
    // Answers shown as streaming may have ended while the socket was down, and their last
    // frames were missed: ask how they ended (the server sends the text so far of the others).
    openSocket = { wrapper: event.detail.socketWrapper, element: event.target };
    lastHeard = Date.now();
    askHowAnswersEnded(openSocket);
  });

  document.addEventListener("htmx:wsClose", function (event) {
    markSocket(event, "closed");
    // Only its own: a chat swapped in by htmx may have opened its socket before this one closed.
    if (openSocket && openSocket.element === event.target) {
      openSocket = null;
    }
    var code = event.detail.event.code;
    if (RECONNECTING_CODES.indexOf(code) >= 0) {
      showSocketStatus("Connection lost. Reconnecting…");
    } else if (CLOSE_MESSAGES[code]) {
      showSocketStatus(CLOSE_MESSAGES[code]);
    }
  });

  document.addEventListener("DOMContentLoaded", scrollMessagesToBottom);
})();
