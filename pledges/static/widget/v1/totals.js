/*! VTF pledge totals widget v1. Embed with one line:
 * <script src="https://HOST/widget/v1/totals.js" data-campaign="SLUG" data-lang="fr" async></script>
 * Optional: data-refresh="60" (seconds, at least 15), data-target="element-id".
 * Reads only the public endpoints /api/v1/public/totals/ and /api/v1/public/pledges/. */
(function () {
  "use strict";
  var TAG = "vtf-pledge-totals";
  var script = document.currentScript;
  var API = script && script.src ? new URL(script.src, location.href).origin : "";
  var MAX_BACKOFF = 600;
  var ANON = "Anonymous donor";

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
  // Intl locales: Latin digits in Arabic, as the Fund's reports print them.
  var LOCALE = { en: "en", fr: "fr", es: "es", ru: "ru", zh: "zh-Hans", ar: "ar-u-nu-latn" };

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
    this.loc = LOCALE[this.lang_];
    this.t = L[this.lang_];
    this.campaign = this.getAttribute("campaign") || "";
    this.api = this.getAttribute("api") || API;
    this.every = Math.max(15, parseInt(this.getAttribute("refresh"), 10) || 60);
    this.key = "vtf-widget:v1:" + this.api + ":" + (this.campaign || "-");
    this.fails = 0;
    this.s = store(this.key) || {};
    this.build();
    if (this.s.totals) this.draw(true);
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

  P.get = function (path, query, etag) {
    query = [query, this.campaign && "campaign=" + encodeURIComponent(this.campaign)].filter(Boolean).join("&");
    var init = { headers: etag ? { "If-None-Match": etag } : {}, credentials: "omit", cache: "no-store", mode: "cors" };
    return fetch(this.api + "/api/v1/public/" + path + "/" + (query ? "?" + query : ""), init).then(function (r) {
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
    return this.get("totals", "", s.etag).then(function (totals) {
      if (!totals && s.pledges) return null; // unchanged
      return self.get("pledges", "limit=5", totals ? null : s.petag).then(function (pledges) {
        return [totals, pledges];
      });
    }).then(function (got) {
      if (got && got[0]) { s.etag = got[0].etag; s.totals = got[0].body; }
      if (got && got[1]) { s.petag = got[1].etag; s.pledges = got[1].body.results; }
      s.at = new Date().toISOString();
      store(self.key, s);
      self.fails = 0;
      self.draw(false);
      self.plan(self.every);
    }, function () {
      self.fails += 1;
      if (s.totals) self.draw(true);
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

  P.money = function (amount, currency) {
    try {
      return new Intl.NumberFormat(this.loc, { style: "currency", currency: currency || "USD" }).format(Number(amount));
    } catch (e) {
      return amount + " " + currency;
    }
  };
  P.when = function (iso) {
    var date = new Date(iso);
    try {
      return new Intl.DateTimeFormat(this.loc, { dateStyle: "medium", timeStyle: "short" }).format(date);
    } catch (e) {
      return date.toLocaleString();
    }
  };

  P.draw = function (stale) {
    var d = this.s.totals;
    var t = this.t;
    var goal = Number(d.goal) || 0;
    var pledged = Math.min(100, Math.max(0, Number(d.progress) * 100 || 0));
    var received = goal ? Math.min(100, (Number(d.received) / goal) * 100) : 0;
    text(this.title_, d.title || "");
    this.w.setAttribute("aria-label", d.title || "");
    this.pbar.style.width = pledged.toFixed(2) + "%";
    this.rbar.style.width = received.toFixed(2) + "%";
    this.bar.setAttribute("aria-valuenow", pledged.toFixed(1));
    this.bar.setAttribute("aria-valuetext", new Intl.NumberFormat(this.loc, { style: "percent", maximumFractionDigits: 1 }).format(pledged / 100));
    text(this.f[0], this.money(d.pledged, d.currency));
    text(this.f[1], this.money(d.received, d.currency));
    text(this.f[2], this.money(d.goal, d.currency));
    text(this.f[3], new Intl.NumberFormat(this.loc).format(d.donors));
    var rows = this.s.pledges || [];
    this.head.hidden = this.list.hidden = !rows.length;
    var list = this.list;
    var self = this;
    while (list.firstChild) list.removeChild(list.firstChild);
    rows.forEach(function (p) {
      var li = el(list, "li");
      el(li, "bdi", "d").textContent = p.donor === ANON ? t[7] : p.donor;
      el(li, "bdi", "a").textContent = p.amount == null ? t[8] : self.money(p.amount, p.currency);
    });
    text(this.note, (stale ? t[5] : t[6]).replace("{}", this.when(stale ? this.s.at || d.updated_at : d.updated_at)));
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
