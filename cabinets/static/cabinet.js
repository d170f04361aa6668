// The cabinet's enhancements; every page works without them.
// * Live work: an element with data-live-events="<url>" opens that server-sent event stream.
//   "counts" events update every [data-count="<view>"]; "change" events mark each element
//   [data-live-message="<id>"][data-version] whose version is older and say so in the
//   [data-live-status] (or #live-status) role="status" element: who changed it and when.
// * Keyboard on the inbox: j/k move through [data-row] rows, o (or Enter) opens the row's
//   [data-open] link, x ticks its checkbox, ? opens the cheat sheet (dialog#keys).
// * Focus moves to the [data-autofocus] element (what the last action produced).
(function () {
  "use strict";

  function statusRegion() {
    return document.querySelector("[data-live-status]") || document.getElementById("live-status");
  }

  function say(text) {
    var region = statusRegion();
    if (region) { region.textContent = text; }
  }

  function clock(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) { return ""; }
    return moment.toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit" });
  }

  function onChange(change) {
    var marked = [];
    document.querySelectorAll("[data-live-message][data-version]").forEach(function (el) {
      if (el.getAttribute("data-live-message") !== change.message) { return; }
      if (Number(el.getAttribute("data-version")) >= change.version) { return; }
      el.classList.add("changed");
      marked.push(el);
    });
    var who = change.actor ? change.actor : "другой сотрудник";
    var when = clock(change.at);
    var what = "обращение";
    if (marked.length && marked[0].getAttribute("data-number")) {
      what = "обращение № " + marked[0].getAttribute("data-number");
    }
    var text = "Изменено " + what + ": " + who + (when ? ", в " + when : "") + ". Обновите страницу, чтобы увидеть новое состояние.";
    if (!marked.length && !document.querySelector("[data-count]")) { return; }
    say(text);
  }

  function onCounts(counts) {
    Object.keys(counts).forEach(function (view) {
      document.querySelectorAll('[data-count="' + view + '"]').forEach(function (el) {
        el.textContent = String(counts[view]);
      });
    });
  }

  function follow(url) {
    if (!window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("change", function (event) { onChange(JSON.parse(event.data)); });
    source.addEventListener("counts", function (event) { onCounts(JSON.parse(event.data)); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // Focus goes to what the last action produced (a bulk result, an error summary).
  var produced = document.querySelector("[data-autofocus]");
  if (produced) { produced.focus(); }

  document.querySelectorAll("[data-live-events]").forEach(function (el) {
    follow(el.getAttribute("data-live-events"));
  });

  // --- keyboard ---
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  var keys = document.getElementById("keys");
  var opener = document.querySelector("[data-keys-open]");
  var current = -1;

  function move(to) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = Math.max(0, Math.min(rows.length - 1, to));
    var row = rows[current];
    row.classList.add("current");
    var link = row.querySelector("[data-open]");
    if (link) { link.focus(); }
  }

  function showKeys() {
    if (keys && typeof keys.showModal === "function" && !keys.open) { keys.showModal(); }
  }

  if (opener && keys && typeof keys.showModal === "function") {
    opener.hidden = false;
    opener.addEventListener("click", showKeys);
    keys.addEventListener("close", function () { opener.focus(); });
  }

  rows.forEach(function (row, index) {
    row.addEventListener("focusin", function () {
      if (current >= 0 && current !== index) { rows[current].classList.remove("current"); }
      current = index;
      row.classList.add("current");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) { return; }
    if (keys && keys.open) { return; }
    if (event.key === "?") { event.preventDefault(); showKeys(); return; }
    if (!rows.length) { return; }
    if (event.key === "j") { event.preventDefault(); move(current + 1); }
    else if (event.key === "k") { event.preventDefault(); move(current < 0 ? 0 : current - 1); }
    else if (event.key === "o" && current >= 0) {
      var link = rows[current].querySelector("[data-open]");
      if (link) { event.preventDefault(); window.location.assign(link.href); }
    } else if (event.key === "x" && current >= 0) {
      var box = rows[current].querySelector('input[type="checkbox"]');
      if (box) { event.preventDefault(); box.checked = !box.checked; }
    }
  });
}());
