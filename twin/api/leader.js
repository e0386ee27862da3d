// The micro-grid leader's page (Village Twin). The form works without this script: it lets
// a household's dot on the map choose it, and keeps a visit that could not be sent (no
// network in the fields) on the phone, sending it when the network is back. The server
// takes each visit once by its form key, so sending again is safe.
(function () {
  "use strict";
  var KEY = "twin.visits.queue";
  var form = document.getElementById("visit");
  var select = document.getElementById("household");
  var svg = document.getElementById("homes");
  if (!form) return;

  function queue() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function keep(items) {
    try { localStorage.setItem(KEY, JSON.stringify(items)); } catch (e) { /* full: kept in view */ }
  }
  function say(text, cls) {
    var p = document.getElementById("queued") || document.createElement("p");
    p.id = "queued";
    p.className = cls || "queued";
    p.setAttribute("role", "status");
    p.textContent = text;
    form.parentNode.insertBefore(p, form);
  }
  function body(fields) {
    var data = new URLSearchParams();
    fields.forEach(function (kv) { data.append(kv[0], kv[1]); });
    return data;
  }
  function send(item) {  // rejects only when the network did not carry it
    return fetch(item.action, {method: "POST", body: body(item.fields), credentials: "omit",
                               redirect: "follow"});
  }
  function flush() {
    var items = queue();
    if (!items.length || !navigator.onLine) return;
    var first = items[0];
    send(first).then(function (r) {
      if (r.status === 429 || r.status >= 500) return;  // the server is busy: later
      keep(queue().filter(function (i) { return i.key !== first.key; }));
      say(form.dataset.sent.replace("{n}", String(queue().length)), "ok");
      flush();
    }).catch(function () { /* still offline: try again later */ });
  }

  if (svg && select) {
    svg.addEventListener("click", function (e) {
      var dot = e.target.closest ? e.target.closest(".dot") : null;
      if (!dot) return;
      select.value = dot.getAttribute("data-id");
      Array.prototype.forEach.call(svg.querySelectorAll(".dot.on"), function (d) {
        d.classList.remove("on");
      });
      dot.classList.add("on");
    });
    select.addEventListener("change", function () {
      Array.prototype.forEach.call(svg.querySelectorAll(".dot"), function (d) {
        d.classList.toggle("on", d.getAttribute("data-id") === select.value);
      });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var fields = [];
    new FormData(form).forEach(function (v, k) { fields.push([k, String(v)]); });
    var item = {key: form.elements.client_key.value, action: form.action, fields: fields};
    send(item).then(function (r) {
      if (r.ok) window.location.assign(r.url);
      else form.submit();  // the server's own answer, without this script
    }, function () {
      var items = queue();
      if (!items.some(function (i) { return i.key === item.key; })) items.push(item);
      keep(items);
      say(form.dataset.queued.replace("{n}", String(items.length)));
      form.reset();
      // a new key for the next visit: this one stays with the visit kept on the phone
      form.elements.client_key.value = item.key + "-" + Date.now().toString(36);
    });
  });
  window.addEventListener("online", flush);
  flush();
})();
