// Voice mode of the conversation page: microphone to the voice socket, the spoken answer back.
(function () {
  "use strict";

  var CLOSE_MESSAGES = {
    1000: "Voice is off.",
    1006: "The connection was lost. Voice is off.",
    4401: "You are signed out. Log in again to talk.",
    4404: "This conversation no longer exists.",
  };

  var session = null;

  function elements() {
    var box = document.querySelector(".voice");
    return box && {
      box: box,
      button: box.querySelector("#voice-toggle"),
      label: box.querySelector(".voice__label"),
      status: box.querySelector("#voice-status"),
    };
  }

  function show(state, text) {
    var ui = elements();
    ui.box.dataset.state = state;
    ui.button.setAttribute("aria-pressed", state === "off" ? "false" : "true");
    ui.label.textContent = state === "off" ? "Talk" : "Stop talking";
    if (text) {
      ui.status.textContent = text;
    }
  }

  function scrollMessagesToBottom() {
    var messages = document.getElementById("messages");
    messages.scrollTop = messages.scrollHeight;
  }

  // Audio of the answer, queued back to back; a barge-in silences all of it at once.
  function Player(context) {
    this.context = context;
    this.sources = [];
    this.playhead = 0;
  }

  Player.prototype.play = function (pcm, sampleRate) {
    var samples = new Int16Array(pcm);
    if (!samples.length) {
      return;
    }
    var buffer = this.context.createBuffer(1, samples.length, sampleRate);
    var channel = buffer.getChannelData(0);
    for (var i = 0; i < samples.length; i++) {
      channel[i] = samples[i] / 0x8000;
    }
    var source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    var startAt = Math.max(this.context.currentTime, this.playhead);
    source.start(startAt);
    this.playhead = startAt + buffer.duration;
    var sources = this.sources;
    sources.push(source);
    source.addEventListener("ended", function () {
      sources.splice(sources.indexOf(source), 1);
    });
  };

  Player.prototype.stop = function () {
    this.sources.forEach(function (source) {
      source.stop();
    });
    this.sources = [];
    this.playhead = 0;
  };

  function socketUrl(path) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  function start() {
    var ui = elements();
    // Made inside the click, so the browser lets them run. The capture context runs at 16 kHz
    // when the browser allows, so its own resampler (with proper filtering) does the work.
    var playback = new AudioContext();
    var socket = new WebSocket(socketUrl(ui.box.dataset.voiceUrl));
    socket.binaryType = "arraybuffer";
    session = {
      context: new AudioContext({ sampleRate: 16000 }),
      playback: playback,
      socket: socket,
      player: new Player(playback),
      outputRate: 0,
      stream: null,
      lastError: "",
    };
    var current = session;
    show("connecting", "Connecting…");

    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ type: "start", sample_rate: 16000, format: "pcm16" }));
    });
    socket.addEventListener("message", function (event) {
      if (typeof event.data === "string") {
        handleEvent(current, JSON.parse(event.data));
      } else if (current.outputRate) {
        current.player.play(event.data, current.outputRate);
      }
    });
    socket.addEventListener("close", function (event) {
      var text = current.lastError || CLOSE_MESSAGES[event.code] || "Voice is off.";
      finish(current);
      show("off", text);
    });
  }

  function handleEvent(current, event) {
    switch (event.type) {
      case "ready":
        current.outputRate = event.output_sample_rate;
        listen(current);
        break;
      case "speech_started":
        show("hearing", "Hearing you…");
        break;
      case "speech_ended":
        show("thinking", "Thinking…");
        break;
      case "barge_in":
        current.player.stop();
        break;
      case "no_speech":
        show("listening", "Listening: nothing was understood, please say it again.");
        break;
      case "turn_started":
      case "transcribed":
      case "answer_delta":
      case "answer_finished":
        // The same fragments as the typed chat's socket, swapped into the page the same way.
        htmx.swap("#messages", event.html, { swapStyle: "none" });
        scrollMessagesToBottom();
        if (event.type === "turn_started") {
          show("answering", "Answering…");
        }
        break;
      case "answer_spoken":
        show("listening", "Listening…");
        break;
      case "error":
        current.lastError = event.message;
        show(session === current ? "listening" : "off", event.message);
        break;
    }
  }

  function listen(current) {
    // Echo cancellation keeps the answer coming out of the speakers from counting as the user;
    // noise suppression is left to Whisper, which copes better with noise than with its artefacts.
    var constraints = {
      audio: {
        channelCount: 1,
        echoCancellation: true,
        noiseSuppression: false,
        autoGainControl: false,
      },
    };
    navigator.mediaDevices
      .getUserMedia(constraints)
      .then(function (stream) {
        current.stream = stream;
        return microphoneIn(current);
      })
      .then(function (microphone) {
        if (session !== current) {
          finish(current);
          return;
        }
        var capture = new AudioWorkletNode(current.context, "voice-capture");
        capture.port.onmessage = function (message) {
          if (current.socket.readyState === WebSocket.OPEN) {
            current.socket.send(message.data);
          }
        };
        microphone.connect(capture);
        // A node with no path to the speakers may never be run; its output is silence.
        capture.connect(current.context.destination);
        show("listening", "Listening…");
      })
      .catch(function () {
        current.lastError = "The microphone could not be used. Allow it in the browser to talk.";
        current.socket.close();
      });
  }

  // The microphone as a node of the capture context, whose worklet is loaded.
  function microphoneIn(current) {
    var captureUrl = elements().box.dataset.captureUrl;
    var microphone;
    try {
      microphone = current.context.createMediaStreamSource(current.stream);
    } catch (error) {
      // Some browsers cannot connect a microphone to a context at another rate: capture at the
      // device's rate then, and the worklet resamples.
      current.context.close();
      current.context = new AudioContext();
      microphone = current.context.createMediaStreamSource(current.stream);
    }
    return Promise.all([
      current.context.audioWorklet.addModule(captureUrl),
      current.context.resume(),
      current.playback.resume(),
    ]).then(function () {
      return microphone;
    });
  }

  function finish(current) {
    current.player.stop();
    if (current.stream) {
      current.stream.getTracks().forEach(function (track) {
        track.stop();
      });
    }
    [current.context, current.playback].forEach(function (context) {
      if (context.state !== "closed") {
        context.close();
      }
    });
    if (session === current) {
      session = null;
    }
  }

  function stop() {
    var current = session;
    if (current.socket.readyState === WebSocket.OPEN) {
      current.socket.send(JSON.stringify({ type: "stop" }));
    }
    current.socket.close();
    finish(current);
    show("off", "Voice is off.");
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest("#voice-toggle")) {
      return;
    }
    if (session) {
      stop();
    } else {
      start();
    }
  });
})();
