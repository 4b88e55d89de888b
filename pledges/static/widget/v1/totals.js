/*! VTF pledge totals widget v1. Embed with one line:
 * <script src="https://HOST/widget/v1/totals.js" data-campaign="SLUG" data-lang="fr" async></script>
 * Optional: data-refresh="60" (seconds, at least 15), data-target="element-id".
 * Reads only /widget/v1/figures.json: the public totals and latest pledges,
 * formatted by the server (CLDR) exactly as the iframe page shows them. */
(function () {
  "use strict";
  var TAG = "vtf-pledge-totals";
  var script = document.currentScript;
  var API = script && script.src ? new URL(script.src, location.href).origin : "";
  var MAX_BACKOFF = 600;

  // Labels in the six UN languages: pledged, received, goal, donors, latest
  // pledges, "figures as of", "updated", anonymous, amount not shown, bar.
  var L = {
    en: ["Pledged", "Received", "Goal", "Donors", "Latest pledges", "Figures as of {}", "Updated {}", "Anonymous donor", "Amount not disclosed", "Pledged towards the goal"],
    fr: ["Promis", "Reçu", "Objectif", "Donateurs", "Dernières promesses", "Chiffres au {}", "Mis à jour le {}", "Donateur anonyme", "Montant non communiqué", "Promesses par rapport à l’objectif"],
    es: ["Prometido", "Recibido", "Meta", "Donantes", "Últimas promesas", "Cifras al {}", "Actualizado el {}", "Donante anónimo", "Importe no divulgado", "Promesas respecto de la meta"],
    ru: ["Обещано", "Получено", "Цель", "Доноры", "Последние обязательства", "Данные на {}", "Обновлено {}", "Анонимный донор", "Сумма не раскрывается", "Обещано относительно цели"],
    zh: ["认捐", "已收到", "目标", "捐助方", "最新认捐", "数据截至 {}", "更新于 {}", "匿名捐助方", "金额未公开", "认捐额占目标的比例"],
    ar: ["التعهدات", "المبالغ المستلمة", "الهدف", "المانحون", "أحدث التعهدات", "الأرقام حتى {}", "آخر تحديث {}", "مانح مجهول الهوية", "المبلغ غير معلن", "التعهدات مقارنة بالهدف"]
  };

  var CSS =
    ":host{all:initial!important;display:block!important;contain:content}" +
    "[hidden]{display:none!important}" +
    ".w{box-sizing:border-box;max-width:30em;padding:14px 16px;border:1px solid #c8d3df;border-radius:8px;background:#fff;color:#1b2733;" +
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Arabic','Noto Sans CJK SC',sans-serif;text-align:start}" +
    ".w *{box-sizing:border-box;margin:0;padding:0;font:inherit;color:inherit;border:0;background:none;text-align:inherit}" +
    ".t{font-weight:600;font-size:1.05em;margin-bottom:8px}" +
    ".bar{position:relative;height:14px;border-radius:7px;background:#e6ecf2;overflow:hidden;margin:8px 0}" +
    ".bar .p,.bar .r{position:absolute;top:0;bottom:0;inset-inline-start:0;border-radius:7px}" +
    ".bar .p{background:#9cc3e6}.bar .r{background:#0b5fa5}" +
    ".figs{display:flex;flex-wrap:wrap;gap:4px 18px}.figs div{display:flex;flex-direction:column}" +
    ".k{font-size:.8em;color:#4b5b6b}.v{font-weight:600;font-variant-numeric:tabular-nums}" +
    ".sw{display:inline-block;width:.7em;height:.7em;border-radius:2px;margin-inline-end:4px;vertical-align:baseline}" +
    ".h{margin-top:12px;font-size:.8em;font-weight:600;color:#4b5b6b}" +
    ".w ul{list-style:none;margin-top:4px}.w li{display:flex;justify-content:space-between;gap:12px;padding:3px 0;border-top:1px solid #eef2f6}" +
    "li .a{white-space:nowrap;font-variant-numeric:tabular-nums}" +
    ".n{margin-top:10px;font-size:.75em;color:#5d6b79}.stale .n{color:#8a4b00}";
  var sheet = null;
  function styles(root) {
    // A constructed stylesheet passes a host CSP without 'unsafe-inline',
    // which a <style> element does not. Without it, no styling at all.
    try {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
    } catch (e) { /* an old browser: unstyled, but readable */ }
  }

  function lang(value) {
    var code = String(value || "").toLowerCase().split(/[-_]/)[0];
    return L[code] ? code : "en";
  }
  function el(parent, tag, cls) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(node, value) {
    if (node.textContent !== value) node.textContent = value;
  }
  function store(key, value) {
    try {
      if (value === undefined) return JSON.parse(localStorage.getItem(key) || "null");
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { return null; }
  }

  class Totals extends HTMLElement {}
  var P = Totals.prototype;

  P.connectedCallback = function () {
    if (this._on) return;
    this._on = true;
    this.lang_ = lang(this.getAttribute("lang") || document.documentElement.lang);
    this.t = L[this.lang_];
    this.campaign = this.getAttribute("campaign") || "";
    this.api = this.getAttribute("api") || API;
    this.every = Math.max(15, parseInt(this.getAttribute("refresh"), 10) || 60);
    this.key = "vtf-widget:v1:" + this.api + ":" + (this.campaign || "-") + ":" + this.lang_;
    this.fails = 0;
    this.s = store(this.key) || {};
    this.build();
    if (this.s.figures) this.draw(true);
    else this.state("empty");
    var self = this;
    this._vis = function () {
      if (document.hidden) self.stop();
      else if (Date.now() - (self.last || 0) >= self.every * 1000) self.refresh();
      else self.plan(self.every);
    };
    document.addEventListener("visibilitychange", this._vis);
    this.refresh();
  };
  P.disconnectedCallback = function () {
    this._on = false;
    this.stop();
    document.removeEventListener("visibilitychange", this._vis);
  };
  P.stop = function () {
    clearTimeout(this._timer);
    this._timer = null;
  };
  P.plan = function (seconds) {
    // Jitter spreads many visitors' refreshes; hidden pages do not poll.
    this.stop();
    if (!this._on || document.hidden) return;
    var self = this;
    this._timer = setTimeout(function () { self.refresh(); }, seconds * (0.85 + Math.random() * 0.3) * 1000);
  };
  P.state = function (value) {
    this.setAttribute("data-state", value);
    this.w.hidden = value === "empty";
    this.w.classList.toggle("stale", value === "stale");
  };

  P.get = function (etag) {
    var query = "lang=" + this.lang_ + (this.campaign ? "&campaign=" + encodeURIComponent(this.campaign) : "");
    var init = { headers: etag ? { "If-None-Match": etag } : {}, credentials: "omit", cache: "no-store", mode: "cors" };
    return fetch(this.api + "/widget/v1/figures.json?" + query, init).then(function (r) {
      if (r.status === 304) return null;
      if (!r.ok) throw new Error("HTTP " + r.status);
      var tag = r.headers.get("ETag");
      return r.json().then(function (body) { return { etag: tag, body: body }; });
    });
  };

  // Fetch again now; resolves when the figures are drawn (or kept).
  P.refresh = function () {
    var self = this;
    var s = this.s;
    this.stop();
    this.last = Date.now();
    return this.get(s.figures ? s.etag : null).then(function (got) {
      if (got) { s.etag = got.etag; s.figures = got.body; } // null: unchanged (304)
      store(self.key, s);
      self.fails = 0;
      self.draw(false);
      self.plan(self.every);
    }, function () {
      self.fails += 1;
      if (s.figures) self.draw(true);
      else self.state("empty");
      self.plan(Math.min(MAX_BACKOFF, self.every * Math.pow(2, self.fails)));
    });
  };

  P.build = function () {
    var root = this.shadowRoot || this.attachShadow({ mode: "open" });
    styles(root);
    var w = this.w = el(root, "div", "w");
    w.setAttribute("lang", this.lang_ === "zh" ? "zh-Hans" : this.lang_);
    w.dir = this.lang_ === "ar" ? "rtl" : "ltr";
    w.setAttribute("role", "region");
    this.title_ = el(w, "div", "t");
    var bar = this.bar = el(w, "div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-label", this.t[9]);
    this.pbar = el(bar, "div", "p");
    this.rbar = el(bar, "div", "r");
    var figs = el(w, "div", "figs");
    var self = this;
    this.f = ["pledged", "received", "goal", "donors"].map(function (name, i) {
      var box = el(figs, "div");
      var k = el(box, "span", "k");
      if (i < 2) el(k, "span", "sw").style.background = i ? "#0b5fa5" : "#9cc3e6";
      el(k, "span").textContent = self.t[i];
      var v = el(box, "bdi", "v " + name);
      return v;
    });
    this.head = el(w, "div", "h");
    this.head.textContent = this.t[4];
    this.list = el(w, "ul");
    this.note = el(w, "div", "n");
  };

  // Every figure arrives formatted (the server's CLDR data): drawn as text.
  P.draw = function (stale) {
    var d = this.s.figures;
    text(this.title_, d.title || "");
    this.w.setAttribute("aria-label", d.title || "");
    this.pbar.style.width = d.pledged_share + "%";
    this.rbar.style.width = d.received_share + "%";
    this.bar.setAttribute("aria-valuenow", d.progress);
    this.bar.setAttribute("aria-valuetext", d.progress_text);
    text(this.f[0], d.pledged);
    text(this.f[1], d.received);
    text(this.f[2], d.goal);
    text(this.f[3], d.donors);
    var rows = d.latest || [];
    this.head.hidden = this.list.hidden = !rows.length;
    var list = this.list;
    while (list.firstChild) list.removeChild(list.firstChild);
    rows.forEach(function (p) {
      var li = el(list, "li");
      el(li, "bdi", "d").textContent = p.donor;
      el(li, "bdi", "a").textContent = p.amount;
    });
    text(this.note, stale ? d.as_of : d.updated);
    this.state(stale ? "stale" : "ok");
  };

  if (window.customElements && !customElements.get(TAG)) customElements.define(TAG, Totals);
  if (!script || !window.customElements) return;

  var data = script.dataset;
  var node = document.createElement(TAG);
  node.setAttribute("campaign", data.campaign || "");
  node.setAttribute("api", API);
  if (data.lang) node.setAttribute("lang", data.lang);
  if (data.refresh) node.setAttribute("refresh", data.refresh);
  var target = data.target && document.getElementById(data.target);
  if (target) target.appendChild(node);
  else if (script.parentNode) script.parentNode.insertBefore(node, script.nextSibling);
})();
