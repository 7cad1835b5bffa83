/* The workspace's composer (dash_app/workspace/pane.py): an emoji or a quick reply goes in where the cursor is,
   without a round trip to the server. A quick reply with variables or a file replaces the text with its
   "/shortcut", which the API fills in and attaches when it is sent. */
(function () {
  "use strict";

  function insertAt(box, current, piece) {
    var start = box && typeof box.selectionStart === "number" ? box.selectionStart : current.length;
    var end = box && typeof box.selectionEnd === "number" ? box.selectionEnd : current.length;
    var next = current.slice(0, start) + piece + current.slice(end);
    if (box) {
      var caret = start + piece.length;
      window.setTimeout(function () { box.focus(); box.setSelectionRange(caret, caret); }, 0);
    }
    return next;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    composer: {
      insert: function (_emojiClicks, quick, quickTexts, current) {
        var noUpdate = window.dash_clientside.no_update;
        var triggered = (window.dash_clientside.callback_context || {}).triggered || [];
        var box = document.getElementById("ws-composer");
        current = current || "";
        if (!triggered.length || !triggered[0].value) { return [noUpdate, noUpdate]; }
        var id = triggered[0].prop_id.split(".")[0];
        if (id === "ws-quick-reply") {
          var reply = (quickTexts || {})[quick];
          if (!reply) { return [noUpdate, null]; }
          return [reply.whole ? reply.text : insertAt(box, current, reply.text), null];
        }
        var emoji;
        try { emoji = JSON.parse(id).emoji; } catch (e) { return [noUpdate, noUpdate]; }
        return [insertAt(box, current, emoji), noUpdate];
      }
    }
  });
})();
