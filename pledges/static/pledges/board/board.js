/* The live pledge board: asks for the board's document every second with
   the ETag it has (a 304 when nothing changed), puts the new figures and
   pledges on the page as text, and keeps showing the last figures with
   their time when the service cannot be reached. No framework, no inline
   code (CSP). */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root || !window.fetch) { return; }

  var liveUrl = root.getAttribute("data-live-url");
  var pollMs = parseInt(root.getAttribute("data-poll-ms"), 10) || 1000;
  var lang = root.getAttribute("data-lang") || "en";
  var state = { etag: root.getAttribute("data-etag") || "", lastContact: new Date(), failures: 0, offline: false };
  var timeOnly = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  var dayAndTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });

  function field(path, body) {
    return path.split(".").reduce(function (value, key) { return value == null ? null : value[key]; }, body);
  }

  function setText(element, text) {
    if (element.textContent !== text) { element.textContent = text; }
  }

  function showFields(body) {
    root.querySelectorAll("[data-field]").forEach(function (element) {
      var name = element.getAttribute("data-field");
      if (name === "generated_at") { return; }
      var value = field(name, body);
      if (value == null || value === "") { value = element.getAttribute("data-empty") || ""; }
      setText(element, String(value));
    });
    root.querySelectorAll("[data-bar]").forEach(function (rect) {
      rect.setAttribute("width", String(field(rect.getAttribute("data-bar"), body.bar) || 0));
    });
  }

  function pledgeItem(pledge) {
    var item = document.createElement("li");
    item.setAttribute("data-key", pledge.key);
    [["donor", pledge.donor], ["pledge-amount", pledge.amount], ["pledge-usd", pledge.usd], ["pledge-session", pledge.session]]
      .forEach(function (part) {
        var span = document.createElement("span");
        span.className = part[0];
        if (part[0] === "pledge-amount" || part[0] === "pledge-usd") {
          var isolate = document.createElement("bdi");
          isolate.textContent = part[1] || "";
          span.appendChild(isolate);
        } else {
          // Names and titles may be in another script than the page.
          span.setAttribute("dir", "auto");
          span.textContent = part[1] || "";
        }
        item.appendChild(span);
      });
    return item;
  }

  function showPledges(pledges) {
    var list = document.getElementById("pledges");
    var known = {};
    list.querySelectorAll("li[data-key]").forEach(function (item) { known[item.getAttribute("data-key")] = item; });
    var items = pledges.map(function (pledge) {
      var item = pledgeItem(pledge);
      if (!known[pledge.key]) { item.className = "new"; }
      return item;
    });
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = root.getAttribute("data-msg-none");
      items = [none];
    }
    list.replaceChildren.apply(list, items);
  }

  function showStatus() {
    var status = document.getElementById("status");
    var when = state.lastContact;
    status.classList.toggle("offline", state.offline);
    root.classList.toggle("is-offline", state.offline);
    var text = state.offline
      ? root.getAttribute("data-msg-offline").replace("{}", dayAndTime.format(when))
      : root.getAttribute("data-msg-updated").replace("{}", timeOnly.format(when));
    setText(status, text);
  }

  function show(body) {
    showFields(body);
    showPledges(body.pledges || []);
  }

  function next() {
    // Back off while the service is unreachable (1 s, 2 s, 4 s, ... 15 s).
    var delay = state.failures ? Math.min(15000, pollMs * Math.pow(2, state.failures - 1)) : pollMs;
    window.setTimeout(poll, delay);
  }

  function poll() {
    var headers = state.etag ? { "If-None-Match": state.etag } : {};
    fetch(liveUrl, { headers: headers, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        state.etag = response.headers.get("ETag") || "";
        return response.json();
      })
      .then(function (body) {
        state.lastContact = new Date();
        state.failures = 0;
        state.offline = false;
        if (body) { show(body); root.setAttribute("data-etag", state.etag); }
        showStatus();
      })
      .catch(function () {
        state.failures += 1;
        state.offline = true;
        showStatus();
      })
      .then(next);
  }

  next();
}());
