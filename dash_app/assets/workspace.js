// The agents' workspace in the browser: the API's live socket, row selection, notifications and their sound.
// The socket only says *that* something changed (events carry ids, never text); the server callbacks then ask
// the API again. The token comes from a same-origin route and goes in the first frame, never in the URL.
(function () {
  "use strict";
  var socket = null, retry = 1000, generation = 0;

  function status(text) {
    var el = document.getElementById("ws-live-status");
    if (el) { el.textContent = text; el.dataset.state = text; }
  }

  // A burst of events (a busy tenant, a supervisor seeing them all) becomes one refresh: events within
  // COALESCE_MS go together, naming their conversation only when they all share one.
  var COALESCE_MS = 250, pending = null, timer = null;

  function flush() {
    timer = null;
    var event = pending;
    pending = null;
    if (event && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props("ws-event", {data: Object.assign({at: Date.now()}, event)});
    }
  }

  function emit(event) {
    if (pending === null) {
      pending = {type: event.type, conversation_id: event.conversation_id || null, count: 1};
    } else {
      pending.count += 1;
      pending.type = pending.type === event.type ? pending.type : "many";
      if (pending.conversation_id !== (event.conversation_id || null)) { pending.conversation_id = null; }
    }
    if (timer === null) { timer = setTimeout(flush, COALESCE_MS); }
  }

  function connect(tokenUrl, mine) {
    if (mine !== generation || !document.getElementById("ws-live-status")) { return; }
    fetch(tokenUrl, {credentials: "same-origin", cache: "no-store"}).then(function (response) {
      if (response.status === 401) { window.location.assign("/login"); return null; }
      if (!response.ok) { throw new Error("token route " + response.status); }
      return response.json();
    }).then(function (config) {
      if (!config || mine !== generation) { return; }
      var ws = new WebSocket(config.url);
      socket = ws;
      ws.onopen = function () { ws.send(JSON.stringify({type: "auth", token: config.token})); };
      ws.onmessage = function (message) {
        var event;
        try { event = JSON.parse(message.data); } catch (e) { return; }
        if (event.type === "ready") { retry = 1000; status("ao vivo"); emit({type: "ready"}); return; }
        emit(event);
      };
      ws.onclose = function (closed) {
        if (mine !== generation) { return; }
        status("reconectando…");
        // 4401: the token is no longer good; the token route then says whether the session still is
        setTimeout(function () { connect(tokenUrl, mine); }, closed.code === 4401 ? 200 : retry);
        retry = Math.min(retry * 2, 30000);
      };
    }).catch(function () {
      status("sem conexão ao vivo; tentando de novo…");
      setTimeout(function () { connect(tokenUrl, mine); }, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  function beep() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      var audio = new Context(), tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.08;
      tone.connect(gain); gain.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio device: the notification still shows */ }
  }

  document.addEventListener("click", function (click) {
    var row = click.target.closest && click.target.closest(".inbox-row[data-conversation]");
    if (!row || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    var id = row.dataset.conversation;
    window.dash_clientside.set_props("ws-selected", {data: id});
    window.history.replaceState(null, "", "/atendimento?conversa=" + encodeURIComponent(id));
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    niochat: {
      live: function (config) {
        generation += 1;
        if (socket) { try { socket.close(); } catch (e) { /* already closed */ } socket = null; }
        if (config && config.token_url) { connect(config.token_url, generation); }
        return "conectando…";
      },
      notify: function (data, mute) {
        if (!data || !data.count) { return window.dash_clientside.no_update; }
        var text = data.count === 1 ? "Uma conversa nova aguardando atendimento."
          : data.count + " conversas novas aguardando atendimento.";
        if (window.Notification && Notification.permission === "granted") {
          try { new Notification("NioChat · Atendimento", {body: text, tag: "niochat-waiting"}); } catch (e) { /* */ }
        }
        if (!(mute || []).includes("mute")) { beep(); }
        window.__niochatNotified = (window.__niochatNotified || 0) + data.count;
        return text;
      },
      permission: function () {
        if (window.Notification && Notification.permission === "default") { Notification.requestPermission(); }
        return window.Notification ? "notificações: " + Notification.permission : "notificações indisponíveis";
      }
    }
  });
})();
