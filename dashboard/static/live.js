// The Live page: rows updated from server-sent events. Text goes in with textContent only (never as HTML).
(function () {
  "use strict";
  var table = document.getElementById("feed");
  if (!table) return;
  var body = table.tBodies[0];
  var status = document.getElementById("connection");
  var MAX_ROWS = 500;
  var params = new URLSearchParams();
  if (table.dataset.channel) params.set("channel", table.dataset.channel);
  if (table.dataset.member) params.set("member", table.dataset.member);
  if (table.dataset.state) params.set("state", table.dataset.state);

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function link(text, href, cls) {
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.textContent = text;
    a.href = href;
    a.className = cls;
    td.appendChild(a);
    return td;
  }

  function decision(d) {
    if (!d || d.respond === undefined) return "";
    var s = (d.respond ? "respond" : "stay quiet") + " (" + d.source + ")";
    return d.reason ? s + ": " + d.reason : s;
  }

  function row(item) {
    var tr = document.createElement("tr");
    tr.id = "m" + item.id;
    tr.className = "state-" + (item.state || "none") + " fresh";
    var d = item.decision || {};
    tr.appendChild(link(item.created_at.substring(11, 19), "/runs/" + encodeURIComponent(item.id), "run"));
    tr.appendChild(cell(item.guild + " / #" + item.channel));
    tr.appendChild(link(item.author, "/live?member=" + encodeURIComponent(item.author_id), "member"));
    tr.appendChild(cell(item.text, "text"));
    tr.appendChild(cell(item.state || "-", "state"));
    tr.appendChild(cell(decision(d), "decision"));
    tr.appendChild(cell((item.model || "") + (d.model_reason ? " (" + d.model_reason + ")" : "")));
    tr.appendChild(cell(item.tokens_in || item.tokens_out ? item.tokens_in + " / " + item.tokens_out : ""));
    tr.appendChild(cell(item.cost_usd ? "$" + item.cost_usd.toFixed(4) : ""));
    tr.appendChild(cell(item.first_token_ms === null ? "" : Math.round(item.first_token_ms) + " ms"));
    return tr;
  }

  function place(item) {
    var fresh = row(item);
    var old = document.getElementById(fresh.id);
    if (old) { body.replaceChild(fresh, old); return; }
    // Newest first, by snowflake (strings of digits: longer is larger).
    var id = item.id, next = null;
    for (var k = 0; k < body.rows.length; k++) {
      var other = body.rows[k].id.substring(1);
      if (other.length < id.length || (other.length === id.length && other < id)) { next = body.rows[k]; break; }
    }
    body.insertBefore(fresh, next);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  }

  var source = new EventSource("/live/events?" + params.toString());
  source.addEventListener("open", function () { status.textContent = "live"; });
  source.addEventListener("error", function () { status.textContent = "reconnecting…"; });
  source.addEventListener("item", function (e) { place(JSON.parse(e.data)); });
  // The session ended (signed out anywhere, or expired): the server closed the stream; stay closed.
  source.addEventListener("ended", function () { source.close(); status.textContent = "signed out: reload to sign in"; });
})();
