/* pgq-sa web dashboard.
 *
 * Each page arrives with its first data as JSON (#pgq-data) and this script renders
 * it, then polls the same JSON API (/api/...) every few seconds and renders again:
 * live, without a reload.  No framework, no build step.
 *
 * Safety: every piece of data reaches the page as a text node or an attribute set
 * through the DOM (h() below), never as HTML: a payload holding <script> is shown
 * as text.  (The Content-Security-Policy also forbids inline scripts.)
 */
(() => {
  "use strict";

  const cfg = JSON.parse(document.getElementById("pgq-config").textContent);
  const BASE = cfg.base || "";
  const SVG = "http://www.w3.org/2000/svg";

  // ---- DOM -------------------------------------------------------------------------
  function build(el, attrs, kids) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.setAttribute("class", value);
      else if (key === "text") el.textContent = String(value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "checked" || key === "disabled" || key === "value") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const h = (tag, attrs, ...kids) => build(document.createElement(tag), attrs, kids);
  const s = (tag, attrs, ...kids) => build(document.createElementNS(SVG, tag), attrs, kids);
  const $ = (id) => document.getElementById(id);
  function fill(el, ...kids) {
    if (!el) return;
    el.replaceChildren();
    build(el, null, kids);
  }
  const url = (path) => BASE + path;
  const jobLink = (id) => h("a", { href: url(`/jobs/${encodeURIComponent(id)}`), class: "mono" }, `#${id}`);

  // ---- formatting ------------------------------------------------------------------
  const nf = new Intl.NumberFormat("en-US");
  const fmtInt = (n) => (n === null || n === undefined ? "–" : nf.format(n));
  function fmtRate(v) {
    if (v === null || v === undefined) return "–";
    if (v === 0) return "0";
    if (v < 0.1) return v.toFixed(3);
    return v < 100 ? v.toFixed(2) : nf.format(Math.round(v));
  }
  function fmtAxis(v) {
    if (v === 0) return "0";
    if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
    return String(+v.toPrecision(3));
  }
  const fmtPct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  function fmtDur(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (v < 1) return `${Math.round(v * 1000)}ms`;
    if (v < 60) return v < 10 ? `${v.toFixed(1)}s` : `${Math.round(v)}s`;
    if (v < 3600) return `${Math.floor(v / 60)}m${String(Math.floor(v % 60)).padStart(2, "0")}s`;
    if (v < 86400) return `${Math.floor(v / 3600)}h${String(Math.floor((v % 3600) / 60)).padStart(2, "0")}m`;
    return `${Math.floor(v / 86400)}d${Math.floor((v % 86400) / 3600)}h`;
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
  }
  const pad = (n) => String(n).padStart(2, "0");
  function fmtTime(iso, seconds = true) {
    if (!iso) return "–";
    const d = new Date(iso);
    const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? ":" + pad(d.getSeconds()) : ""}`;
  }
  const clock = (d, seconds) => `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? ":" + pad(d.getSeconds()) : ""}`;
  let serverSkew = 0; // server clock minus browser clock (ms), from the last response
  function ago(iso) {
    if (!iso) return "–";
    const seconds = (Date.now() + serverSkew - new Date(iso).getTime()) / 1000;
    if (seconds < 0) return `in ${fmtDur(-seconds)}`;
    return seconds < 1 ? "just now" : `${fmtDur(seconds)} ago`;
  }
  const when = (iso) => (iso ? h("span", { title: fmtTime(iso), class: "nowrap" }, ago(iso)) : h("span", { class: "faint" }, "–"));
  const pill = (state, label) => h("span", { class: `pill ${state}` }, label || state);

  // ---- API ---------------------------------------------------------------------------
  async function api(path, body) {
    const init = { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = cfg.csrf || "";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url(`/api${path}`), init);
    } catch (err) {
      throw new Error("cannot reach the dashboard server");
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
    return data;
  }

  // ---- toasts and the confirmation dialog --------------------------------------------
  function toast(text, error) {
    const el = h("div", { class: `toast${error ? " error" : ""}` }, text);
    $("toasts").append(el);
    setTimeout(() => el.remove(), error ? 7000 : 4000);
  }
  function confirmAction(title, text, label, danger) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    const yes = $("confirm-yes");
    yes.textContent = label;
    yes.className = `btn ${danger ? "danger solid" : "primary"}`;
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      yes.focus();
    });
  }

  // ---- live updates: poll the page's API, render, repeat --------------------------------
  const live = {
    timer: null, paused: false, failing: false, busy: false, updated: null,
    load: null, render: null,
    start(load, render) {
      this.load = load; this.render = render;
      const button = $("live");
      button.addEventListener("click", () => { this.paused = !this.paused; this.show(); if (!this.paused) this.now(); else clearTimeout(this.timer); });
      document.addEventListener("visibilitychange", () => { if (!document.hidden && !this.paused) this.now(); });
      this.updated = new Date();
      this.schedule();
      setInterval(() => this.show(), 1000);
      this.show();
    },
    schedule() {
      clearTimeout(this.timer);
      if (this.paused) return;
      const delay = (this.failing ? Math.min(10, cfg.refresh * 3) : cfg.refresh) * 1000;
      this.timer = setTimeout(() => this.now(), delay);
    },
    async now() {
      if (this.busy || !this.load) return;
      if (document.hidden) { this.schedule(); return; }
      this.busy = true;
      try {
        const data = await this.load();
        this.failing = false;
        setPageError(null);
        this.render(data);
        this.updated = new Date();
      } catch (err) {
        this.failing = true;
        setPageError(`Cannot refresh: ${err.message}. Retrying…`);
      } finally {
        this.busy = false;
        this.show();
        this.schedule();
      }
    },
    show() {
      const button = $("live");
      button.classList.toggle("paused", this.paused);
      button.classList.toggle("on", !this.paused && !this.failing);
      button.classList.toggle("failing", this.failing);
      const since = this.updated ? Math.max(0, Math.round((Date.now() - this.updated) / 1000)) : 0;
      button.querySelector(".txt").textContent = this.paused ? "Paused" : this.failing ? "Reconnecting" : `Live · ${since}s`;
      button.title = this.paused ? "Resume live updates" : `Updated ${since}s ago; click to pause`;
    },
  };
  function setPageError(text) {
    const box = $("page-alerts");
    const old = $("page-error");
    if (old) old.remove();
    if (text) box.prepend(h("div", { class: "alert error", id: "page-error" }, h("div", { class: "icon" }, "!"), h("div", null, h("div", { class: "title" }, text))));
  }
  function noteServerTime(iso) {
    if (iso) serverSkew = new Date(iso).getTime() - Date.now();
  }

  // ---- charts (SVG drawn here: no library) ----------------------------------------------
  const PALETTE = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8", "--c9", "--c10"];
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const colorOf = (i) => css(PALETTE[i % PALETTE.length]);
  /** A round step for about four gridlines up to ``v`` (1, 2, 2.5 or 5 × 10^k). */
  function niceStep(v) {
    if (!(v > 0)) return 0.25;
    const raw = v / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  /** A time-series chart: stacked areas (``stacked``) or lines with gaps for nulls. */
  function chart(container, legend, opts) {
    if (!container) return;
    const { times, series, format, stacked, slot } = opts;
    const width = Math.max(240, container.clientWidth || 600);
    const height = container.clientHeight || 220;
    const m = { l: 46, r: 10, t: 10, b: 24 };
    const w = width - m.l - m.r;
    const hgt = height - m.t - m.b;
    const n = times.length;
    const svgEl = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img", "aria-label": opts.label });
    // values to draw (stacked: cumulative)
    const drawn = [];
    const base = new Array(n).fill(0);
    let top = 0;
    for (const ser of series) {
      const lo = base.slice();
      const hi = ser.values.map((v, i) => (stacked ? base[i] + (v || 0) : v));
      if (stacked) for (let i = 0; i < n; i += 1) base[i] = hi[i];
      for (const v of hi) if (v !== null && v !== undefined && v > top) top = v;
      drawn.push({ ...ser, lo, hi });
    }
    const step = niceStep(top);
    const lines = Math.max(1, Math.ceil(top / step - 1e-9));
    const ymax = step * lines;
    const x = (i) => m.l + (n <= 1 ? 0 : (i / (n - 1)) * w);
    const y = (v) => m.t + hgt - (v / ymax) * hgt;
    // grid and axes
    const axis = s("g", { class: "axis" });
    for (let k = 0; k <= lines; k += 1) {
      const v = step * k;
      const yy = y(v);
      svgEl.append(s("line", { class: k ? "gridline" : "baseline", x1: m.l, x2: m.l + w, y1: yy, y2: yy }));
      axis.append(s("text", { x: m.l - 6, y: yy + 4, "text-anchor": "end" }, format(v, true)));
    }
    const span = n > 1 ? times[n - 1] - times[0] : 0;
    const every = span > 1800 ? 600 : span > 600 ? 120 : 60;
    for (let i = 0; i < n; i += 1) {
      const t = times[i];
      if (Math.round(t) % every === 0) {
        const d = new Date(t * 1000);
        axis.append(s("text", { x: x(i), y: m.t + hgt + 16, "text-anchor": "middle" }, clock(d, every < 60)));
      }
    }
    svgEl.append(axis);
    const any = drawn.some((d) => d.values.some((v) => v !== null && v !== undefined && v > 0));
    // series
    for (const d of drawn) {
      if (stacked) {
        let path = "";
        for (let i = 0; i < n; i += 1) path += `${i ? "L" : "M"}${x(i).toFixed(1)},${y(d.hi[i]).toFixed(1)}`;
        for (let i = n - 1; i >= 0; i -= 1) path += `L${x(i).toFixed(1)},${y(d.lo[i]).toFixed(1)}`;
        svgEl.append(s("path", { d: `${path}Z`, class: "area series", fill: d.color }));
      } else {
        let path = "";
        let pen = false;
        for (let i = 0; i < n; i += 1) {
          const v = d.hi[i];
          if (v === null || v === undefined) { pen = false; continue; }
          path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
          pen = true;
        }
        if (path) svgEl.append(s("path", { d: path, class: "line series", stroke: d.color, "stroke-dasharray": d.dash || null }));
        // lone points (no neighbour to draw a line to)
        for (let i = 0; i < n; i += 1) {
          const v = d.hi[i];
          const prev = i > 0 ? d.hi[i - 1] : null;
          const next = i < n - 1 ? d.hi[i + 1] : null;
          if (v !== null && v !== undefined && (prev === null || prev === undefined) && (next === null || next === undefined)) {
            svgEl.append(s("circle", { cx: x(i), cy: y(v), r: 2.2, fill: d.color, class: "series" }));
          }
        }
      }
    }
    if (!any) svgEl.append(s("text", { x: m.l + w / 2, y: m.t + hgt / 2, "text-anchor": "middle", class: "nodata" }, opts.empty || "Nothing in this range"));
    // hover: a cursor line and a tooltip with every series at that slot
    const cursor = s("line", { class: "cursor hidden", y1: m.t, y2: m.t + hgt });
    svgEl.append(cursor);
    const tip = h("div", { class: "tip hidden" });
    const hit = s("rect", { x: m.l, y: m.t, width: w, height: hgt, fill: "transparent" });
    const showAt = (i) => {
      if (i === null) { cursor.classList.add("hidden"); tip.classList.add("hidden"); return; }
      cursor.setAttribute("x1", x(i)); cursor.setAttribute("x2", x(i));
      cursor.classList.remove("hidden");
      const t0 = new Date(times[i] * 1000);
      const t1 = new Date((times[i] + slot) * 1000);
      const rows = [h("div", { class: "when" }, `${clock(t0, slot < 60)} – ${clock(t1, slot < 60)}`)];
      let total = 0;
      for (const d of drawn) {
        const v = d.values[i];
        total += v || 0;
        rows.push(h("div", { class: "row" }, h("span", { class: "swatch", dataset: { c: "" } }), d.name, h("span", { class: "v" }, v === null || v === undefined ? "–" : format(v))));
        rows[rows.length - 1].firstChild.style.background = d.color;
      }
      if (stacked && drawn.length > 1) rows.push(h("div", { class: "row" }, h("span", { class: "muted" }, "total"), h("span", { class: "v" }, format(total))));
      tip.replaceChildren(...rows);
      tip.classList.remove("hidden");
      const px = (x(i) / width) * container.clientWidth;
      const left = px + 14 + tip.offsetWidth > container.clientWidth ? px - 14 - tip.offsetWidth : px + 14;
      tip.style.left = `${Math.max(0, left)}px`;
      tip.style.top = "8px";
    };
    hit.addEventListener("mousemove", (ev) => {
      const rect = svgEl.getBoundingClientRect();
      const px = ((ev.clientX - rect.left) / rect.width) * width;
      const i = Math.max(0, Math.min(n - 1, Math.round(((px - m.l) / w) * (n - 1))));
      container.hover = i;
      showAt(i);
    });
    hit.addEventListener("mouseleave", () => { container.hover = null; showAt(null); });
    svgEl.append(hit);
    container.replaceChildren(svgEl, tip);
    if (container.hover !== null && container.hover !== undefined && container.hover < n) showAt(container.hover);
    container.lastChart = opts;
    if (legend) {
      fill(legend, drawn.map((d) => {
        const sw = h("span", { class: "swatch" });
        sw.style.background = d.color;
        return h("span", null, sw, d.name);
      }));
    }
  }
  // charts follow the width of their card
  const resizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const el = entry.target;
      if (el.lastChart && Math.abs((el.lastWidth || 0) - el.clientWidth) > 2) {
        el.lastWidth = el.clientWidth;
        chart(el, null, el.lastChart);
      }
    }
  });
  function sparkline(values) {
    const w = 120;
    const hh = 26;
    const n = values.length;
    const top = Math.max(1, ...values);
    const pts = values.map((v, i) => `${((i / Math.max(1, n - 1)) * w).toFixed(1)},${(hh - 2 - (v / top) * (hh - 4)).toFixed(1)}`);
    return s("svg", { class: "spark", width: w, height: hh, viewBox: `0 0 ${w} ${hh}`, "aria-hidden": "true" },
      s("path", { d: `M0,${hh} L${pts.join(" L")} L${w},${hh} Z` }), s("polyline", { points: pts.join(" ") }));
  }

  // ---- shared pieces -------------------------------------------------------------------
  function tile(label, value, note, cls, href) {
    const kids = [h("div", { class: "label" }, label), h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null];
    return href ? h("a", { class: `tile ${cls || ""}`, href }, kids) : h("div", { class: `tile ${cls || ""}` }, kids);
  }
  function alerts(el, list) {
    fill(el, (list || []).map((a) => h("div", { class: `alert ${a.level}` },
      h("div", { class: "icon" }, "!"),
      h("div", null, h("div", { class: "title" }, a.title), a.text ? h("div", { class: "text" }, a.text) : null,
        a.link ? h("a", { href: url(`/${a.link}`) }, "Details →") : null))));
  }
  function table(headers, rows, emptyText) {
    if (!rows.length) return h("div", { class: "empty" }, emptyText);
    return h("table", { class: "data" },
      h("thead", null, h("tr", null, headers.map((x) => (typeof x === "string" ? h("th", null, x) : h("th", { class: x.cls || "" , title: x.title || null }, x.text))))),
      h("tbody", null, rows));
  }
  const td = (content, cls, title) => h("td", { class: cls || null, title: title || null }, content);
  const jobsHref = (params) => url(`/jobs?${new URLSearchParams(params).toString()}`);

  // ---- overview ----------------------------------------------------------------------------
  function overviewParams() {
    const q = new URLSearchParams(location.search);
    return { range: q.get("range") || "5m", queue: q.get("queue") || "" };
  }
  function overviewPath() {
    const p = overviewParams();
    const q = new URLSearchParams({ range: p.range });
    if (p.queue) q.set("queue", p.queue);
    return `/overview?${q}`;
  }
  function setOverviewParam(key, value) {
    const q = new URLSearchParams(location.search);
    if (value) q.set(key, value); else q.delete(key);
    history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
    live.now();
  }
  let knownQueues = [];
  function renderOverview(d) {
    noteServerTime(d.now);
    const names = [...new Set([...d.queues.map((q) => q.queue), ...d.chart.queues])].sort();
    knownQueues = names;
    const colors = Object.fromEntries(names.map((q, i) => [q, colorOf(i)]));
    const rangeLabel = d.range === "1h" ? "1 h" : "5 min";
    // controls: queue picker and range
    const select = h("select", { "aria-label": "Queue", onchange: (ev) => setOverviewParam("queue", ev.target.value) },
      h("option", { value: "" }, "All queues"), names.map((q) => h("option", { value: q }, q)));
    select.value = d.queue || "";
    if (d.queue && !names.includes(d.queue)) select.append(h("option", { value: d.queue }, d.queue)), select.value = d.queue;
    const seg = h("div", { class: "segmented", role: "group", "aria-label": "Range" },
      cfg.ranges.map((r) => h("button", { type: "button", class: r === d.range ? "on" : null, onclick: () => setOverviewParam("range", r) }, r === "1h" ? "1 hour" : "5 min")));
    const controls = $("ov-controls");
    if (!controls.contains(document.activeElement)) fill(controls, select, seg);
    fill($("ov-sub"), d.queue ? `queue ${d.queue}, ` : "", `last ${rangeLabel}`);
    alerts($("ov-alerts"), d.alerts);
    // tiles
    const c = d.counts;
    const w = d.workers;
    const qp = d.queue ? { queue: d.queue } : {};
    const tiles = [
      tile("Ready", fmtInt(c.ready), "can run now", "queued", jobsHref({ state: "queued", ...qp })),
      tile("Scheduled", fmtInt(c.scheduled), "run later", "scheduled", jobsHref({ state: "queued", ...qp })),
      tile("Running", fmtInt(c.running), w.capacity ? `${fmtPct(w.running / w.capacity)} of ${fmtInt(w.capacity)} slots busy` : "no live worker", "running", jobsHref({ state: "running", ...qp })),
      tile(`Succeeded · ${rangeLabel}`, fmtInt(c.succeeded), `${fmtRate(d.throughput)} finished /s`, "succeeded", jobsHref({ state: "succeeded", ...qp })),
      tile(`Failed · ${rangeLabel}`, fmtInt(c.failed), c.retried ? `+ ${fmtInt(c.retried)} attempts retried` : "no attempt retried", `failed${c.failed ? " bad" : ""}`, jobsHref({ state: "failed", ...qp })),
      tile(`Cancelled · ${rangeLabel}`, fmtInt(c.cancelled), null, "cancelled", jobsHref({ state: "cancelled", ...qp })),
      tile("Throughput", h("span", null, fmtRate(d.throughput), h("small", null, " jobs/s")), `last ${d.short_window}s: ${fmtRate(d.throughput_short)} /s`, "accent"),
      tile("Error rate", fmtPct(d.error_rate), "of ended attempts", d.error_rate >= 0.1 ? "failed bad" : "failed"),
      tile("Latency p50", fmtDur(d.latency_p50), "ready to started", "accent"),
      tile("Latency p95", fmtDur(d.latency_p95), "ready to started", "accent"),
      tile("Oldest ready job", d.oldest_ready_age === null ? "none" : fmtDur(d.oldest_ready_age), "waiting to start", d.oldest_ready_age >= 300 ? "failed bad" : "queued"),
      tile("Workers", fmtInt(w.alive), w.stale ? `${w.stale} stale` : w.alive ? "all heartbeating" : "none registered", w.stale || !w.alive ? "failed" : "succeeded", url("/workers")),
    ];
    fill($("ov-tiles"), tiles);
    // charts
    const ch = d.chart;
    const queues = d.queue ? [d.queue].filter((q) => ch.queues.includes(q)) : ch.queues;
    chart($("chart-throughput"), $("legend-throughput"), {
      label: "Throughput", times: ch.times, slot: ch.slot_seconds, stacked: true, format: (v, axis) => (axis ? fmtAxis(v) : `${fmtRate(v)} /s`),
      series: queues.map((q) => ({ name: q, color: colors[q], values: ch.throughput[q] })), empty: "No job finished in this range",
    });
    chart($("chart-errors"), $("legend-errors"), {
      label: "Errors", times: ch.times, slot: ch.slot_seconds, stacked: true, format: (v, axis) => (axis ? fmtAxis(v) : `${fmtRate(v)} /s`),
      series: queues.map((q) => ({ name: q, color: colors[q], values: ch.errors[q] })), empty: "No failed attempt in this range",
    });
    const accent = css("--accent");
    const lat = [
      { name: "p95", color: css("--st-retried"), values: ch.latency.p95 },
      { name: "p50", color: accent, values: ch.latency.p50 },
    ];
    chart($("chart-latency"), $("legend-latency"), {
      label: "Latency", times: ch.times, slot: ch.slot_seconds, stacked: false, format: (v) => fmtDur(v), series: lat, empty: "No job started in this range",
    });
    const sampled = ch.latency.n.reduce((a, b) => a + b, 0);
    fill($("lat-note"), sampled ? `from ${fmtInt(sampled)} sampled jobs` : "");
    fill($("tp-note"), `${fmtRate(ch.totals.throughput)} /s average`);
    // queues table
    const rows = d.queues.map((q) => h("tr", null,
      td(h("span", null, (() => { const sw = h("span", { class: "swatch" }); sw.style.background = colors[q.queue]; return sw; })(), " ", h("a", { href: url(`/?${new URLSearchParams({ queue: q.queue, range: d.range })}`) }, q.queue))),
      td(h("a", { href: jobsHref({ state: "queued", queue: q.queue }) }, fmtInt(q.ready)), "num"),
      td(fmtInt(q.running), "num"),
      td(fmtDur(q.oldest_ready_age), "num"),
      td(fmtRate(q.throughput), "num"),
      td(fmtPct(q.error_rate), `num${q.error_rate >= 0.1 ? " error" : ""}`),
      td(fmtDur(q.latency_p95), "num")));
    fill($("ov-queues"), table(["Queue", { text: "Ready", cls: "num" }, { text: "Running", cls: "num" }, { text: "Oldest", cls: "num", title: "age of the oldest ready job" }, { text: "Done/s", cls: "num" }, { text: "Errors", cls: "num" }, { text: "p95", cls: "num", title: "latency p95" }], rows, "No queued, running or recently finished jobs."));
  }

  // ---- queues -------------------------------------------------------------------------------
  function renderQueues(d) {
    noteServerTime(d.now);
    const paused = cfg.features.pause;
    alerts($("q-alerts"), (d.unserved || []).map((u) => ({ level: "warning", title: `${fmtInt(u.ready)} ready job${u.ready === 1 ? "" : "s"} in ${u.queue}/${u.entrypoint} that no live worker runs`, text: u.reason })));
    const headers = ["Queue", { text: "Ready", cls: "num" }, { text: "Scheduled", cls: "num" }, { text: "Running", cls: "num" },
      { text: "Oldest ready", cls: "num" }, { text: `Done/s ${d.short_window}s`, cls: "num" }, { text: "Done/s 5m", cls: "num" },
      { text: "Finished per 10 s", title: "finished jobs over the last 5 minutes" },
      { text: "Latency p50 · p95", cls: "num" }, { text: "OK", cls: "num" }, { text: "Failed", cls: "num" }, { text: "Errors", cls: "num" }, "Last error"];
    if (paused) headers.splice(1, 0, "State");
    const rows = [];
    for (const q of d.queues) {
      const cells = (f, sub) => [
        td(fmtInt(f.ready), "num"), td(fmtInt(f.scheduled), "num"), td(fmtInt(f.running), "num"),
        td(fmtDur(f.oldest_ready_age), `num${f.oldest_ready_age >= 300 ? " error" : ""}`),
        td(fmtRate(f.throughput_short), "num"), td(fmtRate(f.throughput), "num"),
        td(sub ? "" : sparkline(f.series || [])),
        td(`${fmtDur(f.latency_p50)} · ${fmtDur(f.latency_p95)}`, "num"),
        td(h("a", { href: jobsHref({ state: "succeeded", queue: f.queue, ...(sub ? { entrypoint: f.entrypoint } : {}) }) }, fmtInt(f.succeeded)), "num"),
        td(h("a", { href: jobsHref({ state: "failed", queue: f.queue, ...(sub ? { entrypoint: f.entrypoint } : {}) }) }, fmtInt(f.failed)), `num${f.failed ? " error" : ""}`),
        td(fmtPct(f.error_rate), `num${f.error_rate >= 0.1 ? " error" : ""}`),
        td(f.last_error || "", "trunc error", f.last_error ? `${f.last_error} (${ago(f.last_error_at)})` : null),
      ];
      const head = [td(h("a", { href: url(`/?${new URLSearchParams({ queue: q.queue })}`) }, q.queue))];
      if (paused) head.push(td([q.paused ? pill("cancelled", "paused") : pill("succeeded", "active"),
        cfg.readOnly ? null : h("button", { class: "btn small", type: "button", "data-queue": q.queue, onclick: () => pauseQueue(q.queue, !q.paused) }, q.paused ? "Resume" : "Pause…")], "nowrap"));
      rows.push(h("tr", { class: "group" }, head, cells(q, false)));
      for (const e of q.entrypoints) {
        const name = [h("a", { href: jobsHref({ queue: q.queue, entrypoint: e.entrypoint }) }, e.entrypoint)];
        if (e.unserved) name.push(" ", pill("failed", "no worker"));
        const sub = [td(name, "sub")];
        if (paused) sub.push(td(""));
        rows.push(h("tr", null, sub, cells(e, true)));
      }
    }
    fill($("q-table"), table(headers, rows, "No queues: no queued, running or recently finished jobs."));
  }

  async function pauseQueue(queue, pause) {
    if (pause && !(await confirmAction(`Pause queue ${queue}?`, "No worker starts another of its jobs until it is resumed; running jobs finish, queued jobs wait.", "Pause", true))) return;
    try {
      const r = await api(`/queues/${encodeURIComponent(queue)}/${pause ? "pause" : "resume"}`, {});
      toast(`${r.queue}: ${r.paused ? "paused" : "resumed"}`);
      live.now();
    } catch (err) { toast(err.message, true); }
  }

  // ---- jobs ------------------------------------------------------------------------------------
  const selected = new Set();
  let lastJobs = null;
  function jobsQuery() { return new URLSearchParams(location.search); }
  function jobsPath() { return `/jobs?${jobsQuery()}`; }
  function filtersFromUrl() {
    const q = jobsQuery();
    const out = {};
    for (const key of ["queue", "entrypoint", "created_after", "created_before"]) if (q.get(key)) out[key] = q.get(key);
    const states = q.getAll("state").flatMap((x) => x.split(",")).filter(Boolean);
    if (states.length) out.state = states;
    return out;
  }
  function setupJobs() {
    // state tabs
    const q = jobsQuery();
    const current = q.getAll("state").join(",");
    const tab = (state, label) => {
      const p = new URLSearchParams(q);
      p.delete("state"); p.delete("before"); p.delete("after");
      if (state) p.set("state", state);
      return h("a", { href: url(`/jobs?${p}`), class: current === state ? "on" : null }, label);
    };
    fill($("j-tabs"), tab("", "All"), cfg.statuses.map((st) => tab(st, st[0].toUpperCase() + st.slice(1))));
    // datetime inputs show local time; the URL carries ISO 8601 with the offset
    const form = $("j-filters");
    for (const input of form.querySelectorAll("input[type=datetime-local]")) {
      const iso = input.dataset.iso;
      if (iso) {
        const d = new Date(iso);
        if (!Number.isNaN(d.getTime())) input.value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      }
    }
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const st of q.getAll("state")) p.append("state", st);
      for (const input of form.querySelectorAll("input[name]")) {
        const v = input.value.trim();
        if (!v) continue;
        p.set(input.name, input.type === "datetime-local" ? new Date(v).toISOString() : v);
      }
      location.assign(url(`/jobs?${p}`));
    });
  }
  function renderJobs(d) {
    lastJobs = d;
    fill($("j-sub"), d.order === "finished" ? "most recently finished first" : "newest first");
    const list = $("j-queues");
    if (list && !list.children.length) fill(list, knownQueues.map((q) => h("option", { value: q })));
    const ids = new Set(d.jobs.map((j) => j.id));
    for (const id of [...selected]) if (!ids.has(id)) selected.delete(id);
    const ro = cfg.readOnly;
    const rows = d.jobs.map((j) => {
      const box = ro ? null : h("input", { type: "checkbox", "aria-label": `select job ${j.id}`, checked: selected.has(j.id), onchange: (ev) => { if (ev.target.checked) selected.add(j.id); else selected.delete(j.id); renderBulk(); ev.target.closest("tr").classList.toggle("selected", ev.target.checked); } });
      const ts = j.status === "queued" ? ["runs", j.run_at] : j.status === "running" ? ["started", j.started_at] : ["finished", j.finished_at];
      const state = j.status === "queued" && new Date(j.run_at).getTime() > Date.now() + serverSkew ? pill("scheduled") : j.status === "running" && j.cancel_requested_at ? pill("cancelled", "cancelling") : pill(j.status);
      return h("tr", { class: selected.has(j.id) ? "selected" : null, dataset: { id: j.id } },
        ro ? null : td(box, "check"),
        td(jobLink(j.id)),
        td(state),
        td(j.queue),
        td(h("span", { class: "mono" }, j.entrypoint)),
        td(`${j.attempts}${j.max_attempts ? " / " + j.max_attempts : ""}`, "num"),
        td(when(j.created_at)),
        td(h("span", { class: "nowrap" }, h("span", { class: "faint" }, `${ts[0]} `), when(ts[1]))),
        td(h("span", { class: "mono payload" }, j.payload_preview + (j.payload_truncated ? "…" : "")), "trunc", j.payload_truncated ? "truncated: open the job for the whole payload" : null),
        td(j.last_error ? j.last_error + (j.last_error_truncated ? "…" : "") : "", "trunc error"));
    });
    const all = ro ? null : h("input", { type: "checkbox", "aria-label": "select all on this page", checked: d.jobs.length > 0 && d.jobs.every((j) => selected.has(j.id)), onchange: (ev) => { for (const j of d.jobs) { if (ev.target.checked) selected.add(j.id); else selected.delete(j.id); } renderJobs(lastJobs); } });
    const headers = [...(ro ? [] : [{ text: all, cls: "check" }]), "Job", "State", "Queue", "Entrypoint", { text: "Attempts", cls: "num" }, "Created", "When", "Payload", "Last error"];
    const empty = d.searched ? `No match among the ${fmtInt(d.searched.jobs)} jobs searched.` : "No jobs match.";
    fill($("j-table"), table(headers.map((x) => (x instanceof Node ? { text: x, cls: "check" } : x)), rows, empty));
    renderBulk();
    // pager
    const q = jobsQuery();
    const link = (label, key, value) => {
      if (value === null || value === undefined) return h("button", { class: "btn small", disabled: true, type: "button" }, label);
      const p = new URLSearchParams(q);
      p.delete("before"); p.delete("after");
      if (key) p.set(key, value);
      return h("a", { class: "btn small", href: url(`/jobs?${p}`) }, label);
    };
    const onFirst = !q.get("before") && !q.get("after");
    const info = d.searched
      ? `Searched ${fmtInt(d.searched.jobs)} jobs down to #${d.searched.to} for these filters; “Older” searches on.`
      : d.jobs.length ? `Jobs #${d.jobs[0].id} – #${d.jobs[d.jobs.length - 1].id}` : "";
    fill($("j-pager"), h("span", { class: "info" }, info), h("span", { class: "right" },
      onFirst ? null : link("Newest", null, ""), link("← Newer", "after", d.newer), link("Older →", "before", d.older)));
  }
  function renderBulk() {
    const bar = $("j-bulk");
    if (!bar || cfg.readOnly) return;
    const n = selected.size;
    const filters = filtersFromUrl();
    const hasFilters = Object.keys(filters).length > 0;
    const states = filters.state || [];
    const canRetry = !states.length || states.some((st) => st === "failed" || st === "cancelled");
    const canCancel = !states.length || states.some((st) => st === "queued" || st === "running");
    fill(bar,
      h("span", { class: n ? null : "muted" }, n ? `${n} selected` : "Select jobs to act on them"),
      h("button", { class: "btn small", type: "button", disabled: !n, onclick: () => actOnIds("retry", [...selected]) }, "Retry"),
      h("button", { class: "btn small danger", type: "button", disabled: !n, onclick: () => actOnIds("cancel", [...selected]) }, "Cancel"),
      n ? h("button", { class: "btn small", type: "button", onclick: () => { selected.clear(); renderJobs(lastJobs); } }, "Clear selection") : null,
      hasFilters ? [
        h("span", { class: "sep" }),
        h("span", { class: "muted" }, "All matching the filters:"),
        canRetry ? h("button", { class: "btn small", type: "button", id: "bulk-retry", onclick: () => actOnFilter("retry", filters) }, "Retry all…") : null,
        canCancel ? h("button", { class: "btn small danger", type: "button", id: "bulk-cancel", onclick: () => actOnFilter("cancel", filters) }, "Cancel all…") : null,
      ] : null);
  }
  function summarize(action, r) {
    if (action === "retry") return `${r.retried.length} queued again` + (r.unchanged.length ? `, ${r.unchanged.length} not failed or cancelled` : "") + (r.missing.length ? `, ${r.missing.length} gone` : "");
    return `${r.cancelled.length} cancelled` + (r.requested.length ? `, ${r.requested.length} running (asked to stop)` : "") + (r.unchanged.length ? `, ${r.unchanged.length} already finished` : "") + (r.missing.length ? `, ${r.missing.length} gone` : "");
  }
  async function actOnIds(action, ids) {
    if (!ids.length) return;
    const verb = action === "retry" ? "Retry" : "Cancel";
    const text = action === "retry" ? "Failed and cancelled ones go back to the queue with a fresh count of attempts; others are left alone."
      : "Queued ones will never run; running ones are stopped by their worker. Finished ones are left alone.";
    if (!(await confirmAction(`${verb} ${ids.length} job${ids.length > 1 ? "s" : ""}?`, text, verb, action === "cancel"))) return;
    try {
      const r = await api(`/jobs/${action}`, { ids });
      toast(summarize(action, r.result));
      selected.clear();
      live.now();
    } catch (err) { toast(err.message, true); }
  }
  async function actOnFilter(action, filters) {
    const verb = action === "retry" ? "Retry" : "Cancel";
    let preview;
    try { preview = await api(`/jobs/${action}`, { filters, dry_run: true }); } catch (err) { toast(err.message, true); return; }
    if (!preview.matched) { toast(action === "retry" ? "No failed or cancelled job matches." : "No queued or running job matches."); return; }
    const which = action === "retry" ? "failed or cancelled" : "queued or running";
    const count = preview.more ? `the first ${fmtInt(preview.matched)} of more than ${fmtInt(preview.limit)}` : fmtInt(preview.matched);
    if (!(await confirmAction(`${verb} ${count} ${which} job${preview.matched > 1 ? "s" : ""}?`,
      `${preview.more ? `At most ${fmtInt(preview.limit)} jobs change per click. ` : ""}This cannot be undone.`, `${verb} ${fmtInt(preview.matched)}`, action === "cancel"))) return;
    try {
      const r = await api(`/jobs/${action}`, { filters, limit: preview.matched });
      toast(r.result ? summarize(action, r.result) : "Nothing to do.");
      live.now();
    } catch (err) { toast(err.message, true); }
  }

  // ---- one job -------------------------------------------------------------------------------
  function jobState(j) {
    if (j.status === "queued" && new Date(j.run_at).getTime() > Date.now() + serverSkew) return "scheduled";
    return j.status;
  }
  async function jobAction(j, action) {
    const verb = action === "retry" ? "Retry" : "Cancel";
    const text = action === "retry" ? "It goes back to the queue with a fresh count of attempts; its error history is kept."
      : j.status === "running" ? "Its worker will stop it within about a second; it then ends cancelled and is never retried." : "It will never run.";
    if (!(await confirmAction(`${verb} job #${j.id}?`, text, verb, action === "cancel"))) return;
    try {
      const r = await api(`/jobs/${j.id}/${action}`, {});
      toast(r.changed ? (action === "retry" ? `Job #${j.id} queued again` : j.status === "running" ? `Job #${j.id}: asked its worker to stop it` : `Job #${j.id} cancelled`) : `Job #${j.id} was not ${action === "retry" ? "failed or cancelled" : "queued or running"}: unchanged`);
      live.now();
    } catch (err) { toast(err.message, true); }
  }
  function renderJob(j) {
    if (!j) return;
    const state = jobState(j);
    const actions = [];
    if (!cfg.readOnly) {
      if (j.actions.retry) actions.push(h("button", { class: "btn primary", type: "button", id: "job-retry", onclick: () => jobAction(j, "retry") }, "Retry"));
      if (j.actions.cancel) actions.push(h("button", { class: "btn danger", type: "button", id: "job-cancel", onclick: () => jobAction(j, "cancel") }, "Cancel"));
    }
    fill($("job-head"),
      h("h1", null, `Job #${j.id}`),
      pill(j.status === "running" && j.cancel_requested_at ? "cancelled" : state, j.status === "running" && j.cancel_requested_at ? "cancelling" : state),
      h("span", { class: "sub" }, h("span", { class: "mono" }, j.entrypoint), " in queue ", h("a", { href: jobsHref({ queue: j.queue }) }, j.queue)),
      h("div", { class: "controls" }, actions));
    document.title = `Job #${j.id} · pgq-sa · ${cfg.title}`;
    const kv = (k, v) => [h("dt", null, k), h("dd", null, v)];
    fill($("job-details"), h("dl", { class: "kv" },
      kv("State", pill(state)),
      kv("Queue", h("a", { href: jobsHref({ queue: j.queue }) }, j.queue)),
      kv("Entrypoint", h("a", { href: jobsHref({ entrypoint: j.entrypoint }), class: "mono" }, j.entrypoint)),
      kv("Priority", String(j.priority)),
      kv("Attempts", j.max_attempts ? `${j.attempts} of ${j.max_attempts}`
        : j.effective_max_attempts ? h("span", null, `${j.attempts} of ${j.effective_max_attempts} `, h("span", { class: "faint" }, "(the task's default)"))
          : h("span", null, `${j.attempts} `, h("span", { class: "faint" }, "(of the task's default)"))),
      kv("Worker", j.worker_id ? h("a", { href: url("/workers"), class: "mono" }, j.worker_id) : h("span", { class: "faint" }, "–")),
      j.cancel_requested_at ? kv("Cancel asked", when(j.cancel_requested_at)) : null,
      j.unique_key ? kv("Unique key", h("span", { class: "mono" }, j.unique_key)) : null,
      kv("Last error", j.last_error ? h("span", { class: "error" }, j.last_error.split("\n")[0]) : h("span", { class: "faint" }, "–"))));
    const t = (label, iso, c) => {
      const mark = h("span", { class: "mark" });
      if (c) mark.style.setProperty("--c", css(c));
      return h("div", { class: "step" }, mark, h("div", { class: "what" }, label), h("div", { class: "when" }, iso ? fmtTime(iso) : "–", h("br"), iso ? ago(iso) : ""));
    };
    const gap = (a, b, label) => (a && b ? h("div", { class: "gap" }, `${label} ${fmtDur((new Date(b) - new Date(a)) / 1000)}`) : null);
    const ready = j.run_at && j.created_at && new Date(j.run_at) > new Date(j.created_at) ? j.run_at : j.created_at;
    fill($("job-timeline"), h("div", { class: "timeline" },
      t("Created", j.created_at, "--st-queued"),
      j.run_at !== j.created_at ? t(j.errors && j.errors.length ? "Ready again" : "Ready", j.run_at, "--st-scheduled") : null,
      j.started_at ? gap(ready, j.started_at, "waited") : null,
      j.started_at ? t(j.finished_at ? "Last attempt started" : "Started", j.started_at, "--st-running") : null,
      j.heartbeat_at && !j.finished_at ? t("Last heartbeat", j.heartbeat_at, "--st-running") : null,
      j.finished_at && j.started_at ? gap(j.started_at, j.finished_at, "ran") : null,
      j.finished_at ? t(`Finished: ${j.status}`, j.finished_at, `--st-${j.status}`) : null));
    // payload: the JSON as text (pretty), whole up to a limit
    const text = j.payload_truncated ? j.payload_text : JSON.stringify(j.payload, null, 2);
    fill($("payload-size"), fmtBytes(j.payload_bytes));
    const copy = h("button", { class: "btn small", type: "button", onclick: async () => { try { await navigator.clipboard.writeText(text); toast("Payload copied"); } catch (err) { toast("Cannot copy here", true); } } }, "Copy");
    fill($("payload-tools"), copy);
    fill($("job-payload"), h("pre", { class: "code", id: "payload" }, text), j.payload_truncated ? h("div", { class: "notice" }, `Only the first ${fmtBytes(text.length)} are shown; the JSON API has the whole job.`) : null);
    // feature sections (results, progress, dependencies) slot in when the job has them
    const extra = [];
    for (const [key, title] of [["progress", "Progress"], ["result", "Result"], ["dependencies", "Dependencies"]]) {
      if (Object.prototype.hasOwnProperty.call(j, key) && j[key] !== null && j[key] !== undefined) {
        extra.push(h("section", { class: "card" }, h("header", null, h("h2", null, title)), h("div", { class: "body" }, h("pre", { class: "code" }, JSON.stringify(j[key], null, 2)))));
      }
    }
    fill($("job-extra"), extra.length ? h("div", { class: "stack" }, extra) : null);
    // attempts: newest first, with message and traceback
    const errors = (j.errors || []).slice().reverse();
    fill($("attempts-sub"), errors.length ? `${errors.length} failed attempt${errors.length > 1 ? "s" : ""}` : "");
    fill($("job-attempts"), errors.length ? errors.map((e) => h("div", { class: "attempt" },
      h("div", { class: "head" }, h("strong", null, `Attempt ${e.attempt ?? "?"}`), h("span", { class: "type" }, e.type || "Error"), h("span", { class: "muted" }, e.at ? fmtTime(e.at) : ""), e.worker ? h("span", { class: "faint mono" }, e.worker) : null),
      e.message ? h("div", { class: "message" }, e.message) : null,
      e.traceback ? h("details", { open: e === errors[0] ? true : null }, h("summary", null, "Traceback"), h("pre", { class: "code" }, e.traceback)) : null))
      : h("div", { class: "empty" }, j.status === "failed" && j.last_error ? j.last_error : "No failed attempt."));
  }

  // ---- workers ------------------------------------------------------------------------------------
  function renderWorkers(d) {
    const ws = d.workers;
    const capacity = ws.filter((w) => !w.stale).reduce((a, w) => a + w.concurrency, 0);
    const running = ws.reduce((a, w) => a + w.running, 0);
    fill($("w-sub"), `stale after ${fmtDur(d.stale_after)} without a heartbeat`);
    fill($("w-tiles"),
      tile("Alive", fmtInt(d.alive), null, "succeeded"),
      tile("Stale", fmtInt(d.stale), d.stale ? "their running jobs are rescued" : "none", d.stale ? "failed bad" : "cancelled"),
      tile("Running jobs", fmtInt(running), capacity ? `${fmtPct(running / capacity)} of ${fmtInt(capacity)} slots` : null, "running"));
    const rows = [];
    for (const w of ws) {
      const usage = h("div", { class: "bar" }, h("span"));
      usage.firstChild.style.width = `${Math.min(100, (100 * w.running) / Math.max(1, w.concurrency))}%`;
      rows.push(h("tr", { dataset: { worker: w.id } },
        td(pill(w.stale ? "stale" : "alive", w.stale ? "stale" : "alive")),
        td(h("span", { class: "mono" }, w.id)),
        td(w.host), td(String(w.pid), "num"),
        td(w.queues.map((q) => h("a", { class: "chip", href: jobsHref({ queue: q }) }, q))),
        td(`${w.entrypoints.length} task${w.entrypoints.length === 1 ? "" : "s"}`, "nowrap", w.entrypoints.join(", ")),
        td(h("div", null, h("div", { class: "nowrap" }, `${w.running} / ${w.concurrency}`), usage)),
        td(when(w.started_at)),
        td(h("span", { class: w.stale ? "error" : null, title: fmtTime(w.heartbeat_at) }, `${fmtDur(w.heartbeat_age)} ago`), "num")));
      if (w.jobs.length) {
        rows.push(h("tr", null, h("td"), h("td", { colspan: 8, class: "jobs-of" },
          w.jobs.map((j) => h("span", { class: "chip" }, jobLink(j.id), " ", h("span", { class: "mono" }, j.entrypoint), " · ", j.queue, " · ", h("span", { title: fmtTime(j.started_at) }, `started ${ago(j.started_at)}`), j.cancel_requested_at ? " · cancelling" : "")),
          w.running > w.jobs.length ? h("span", { class: "faint" }, ` and ${w.running - w.jobs.length} more`) : null)));
      }
    }
    fill($("w-table"), table(["State", "Worker", "Host", { text: "PID", cls: "num" }, "Queues", "Tasks", "Running", "Started", { text: "Heartbeat", cls: "num" }], rows, "No worker registered: start one with pgq-sa worker module:registry."));
  }

  // ---- schedules ---------------------------------------------------------------------------------
  function renderSchedules(d) {
    noteServerTime(d.now);
    fill($("s-sub"), d.orphaned ? `${d.orphaned} orphaned (no longer in any worker's code: never fire again)` : "each fire time is one job, whichever workers are up");
    fill($("s-table"), table(["Schedule", "Task", "Expression", "Missed", "Next fire", "Last fire", "Last job", "Status", ""],
      d.schedules.map((r) => h("tr", { dataset: { schedule: r.name } },
        td([h("span", { class: "mono" }, r.name), r.orphaned ? [" ", pill("failed", "orphaned")] : null]),
        td(h("a", { href: jobsHref({ entrypoint: r.entrypoint }), class: "mono" }, r.entrypoint)),
        td([h("span", { class: "mono" }, r.expression), r.timezone ? h("span", { class: "faint" }, ` (${r.timezone})`) : null]),
        td(r.missed),
        td(r.next_fire_at ? h("span", { title: fmtTime(r.next_fire_at) }, fmtTime(r.next_fire_at)) : h("span", { class: "faint" }, "–")),
        td(when(r.last_fire_at)),
        td(r.last_job_id ? jobLink(r.last_job_id) : h("span", { class: "faint" }, "–")),
        td(r.last_status ? pill(r.last_status) : h("span", { class: "faint" }, "–")),
        td(cfg.readOnly || r.orphaned ? null : h("button", { class: "btn small", type: "button", onclick: () => runSchedule(r.name) }, "Run now…")))),
      "No schedules: none registered by a worker yet (@registry.task(cron=…) or every=…)."));
  }

  async function runSchedule(name) {
    if (!(await confirmAction(`Run ${name} now?`, "One more job of its task, with its payload, is enqueued now; its fire times do not change.", "Run now", false))) return;
    try {
      const r = await api(`/schedules/${encodeURIComponent(name)}/run`, {});
      toast(`${name}: job #${r.id} enqueued`);
      live.now();
    } catch (err) { toast(err.message, true); }
  }

  // ---- database health ---------------------------------------------------------------------------
  function renderDatabase(d) {
    noteServerTime(d.now);
    fill($("db-sub"), `${d.database.name} · PostgreSQL ${d.database.server_version.split(" ")[0]}`);
    alerts($("db-alerts"), d.warnings);
    const holders = d.transactions.filter((t) => t.holds_cleanup);
    const oldest = holders.reduce((a, t) => (t.xact_age !== null && (a === null || t.xact_age > a.xact_age) ? t : a), null);
    const jobsTable = d.tables.find((t) => t.relname === "pgq_jobs");
    const deadShare = jobsTable ? jobsTable.n_dead_tup / Math.max(1, jobsTable.n_dead_tup + jobsTable.n_live_tup) : null;
    const limit = d.thresholds.long_transaction;
    fill($("db-tiles"),
      tile("Oldest open transaction", oldest ? fmtDur(oldest.xact_age) : "none", oldest ? `pid ${oldest.pid} · ${oldest.state || "?"}` : "nothing holds back cleanup", oldest && oldest.xact_age >= limit ? "failed bad" : "succeeded"),
      tile("Dead rows in pgq_jobs", jobsTable ? fmtInt(jobsTable.n_dead_tup) : "–", deadShare !== null ? `${fmtPct(deadShare)} of its rows` : null, jobsTable && jobsTable.n_dead_tup >= d.thresholds.dead_rows ? "retried" : "cancelled"),
      tile("Last autovacuum of pgq_jobs", jobsTable && (jobsTable.last_autovacuum || jobsTable.last_vacuum) ? ago(jobsTable.last_autovacuum || jobsTable.last_vacuum) : "never", d.settings.autovacuum === "off" ? "autovacuum is off" : `autovacuum ${d.settings.autovacuum || "?"}`, d.settings.autovacuum === "off" ? "failed" : "accent"),
      tile("Transaction ID age", fmtInt(d.database.frozen_xid_age), "since this database was last frozen", d.database.frozen_xid_age > 1e9 ? "failed bad" : "cancelled"));
    fill($("db-transactions"), table(["PID", "User", "Application", "Client", "State", { text: "Open for", cls: "num" }, { text: "Snapshot age", cls: "num", title: "transactions started since its snapshot (xmin)" }, "Holds cleanup", "Query"],
      d.transactions.map((t) => h("tr", { dataset: { pid: t.pid } },
        td(String(t.pid), "num mono"), td(t.usename || "–"), td(t.application_name || h("span", { class: "faint" }, t.backend_type || "–")),
        td(t.client_addr || "local"),
        td(t.state ? pill(t.state.startsWith("idle in") ? "warning" : t.state === "active" ? "running" : "cancelled", t.state) : h("span", { class: "faint" }, "not visible")),
        td(t.xact_age !== null ? fmtDur(t.xact_age) : "–", `num${t.xact_age >= limit && t.holds_cleanup ? " error" : ""}`),
        td(t.xmin_age !== null || t.xid_age !== null ? fmtInt(Math.max(t.xmin_age || 0, t.xid_age || 0)) : "–", "num"),
        td(t.holds_cleanup ? pill(t.xact_age >= limit ? "critical" : "warning", "yes") : h("span", { class: "faint" }, "no")),
        td(h("span", { class: "mono" }, t.query || ""), "trunc", t.query || null))),
      "No open transaction in this database: nothing holds back cleanup."));
    fill($("db-tables"), table(["Table", { text: "Live rows", cls: "num" }, { text: "Dead rows", cls: "num" }, "Dead share", { text: "Size", cls: "num" }, "Last vacuum", "Last autovacuum", "Last analyze", { text: "Vacuums", cls: "num", title: "manual + automatic" }],
      d.tables.map((t) => {
        const share = t.n_dead_tup / Math.max(1, t.n_dead_tup + t.n_live_tup);
        const bar = h("div", { class: "bar dead" }, h("span"));
        bar.firstChild.style.width = `${Math.round(share * 100)}%`;
        return h("tr", null, td(h("span", { class: "mono" }, `${t.schemaname}.${t.relname}`)), td(fmtInt(t.n_live_tup), "num"),
          td(fmtInt(t.n_dead_tup), `num${t.n_dead_tup >= d.thresholds.dead_rows ? " error" : ""}`), td(h("div", { title: fmtPct(share) }, bar)),
          td(fmtBytes(t.total_bytes), "num"), td(when(t.last_vacuum)), td(when(t.last_autovacuum)), td(when(t.last_autoanalyze || t.last_analyze)),
          td(`${fmtInt(t.vacuum_count)} + ${fmtInt(t.autovacuum_count)}`, "num"));
      }), "The pgq-sa tables were not found."));
    fill($("db-slots"), table(["Slot", "Type", "Database", "Active", { text: "xmin age", cls: "num" }, { text: "catalog xmin age", cls: "num" }],
      d.slots.map((sl) => h("tr", null, td(h("span", { class: "mono" }, sl.slot_name)), td(sl.slot_type), td(sl.database || "–"),
        td(sl.active ? pill("ok", "active") : pill("critical", "inactive")), td(fmtInt(sl.xmin_age), "num"), td(fmtInt(sl.catalog_xmin_age), "num"))),
      "No replication slot holds back cleanup."));
    fill($("db-prepared"), table(["Transaction", "Owner", "Prepared", { text: "xid age", cls: "num" }],
      d.prepared.map((p) => h("tr", null, td(h("span", { class: "mono" }, p.gid)), td(p.owner), td(when(p.prepared)), td(fmtInt(p.xid_age), "num"))),
      "No prepared transaction."));
    const setting = (name, note) => [h("dt", null, h("span", { class: "mono" }, name)), h("dd", null, d.settings[name] === undefined ? "–" : d.settings[name], note ? h("span", { class: "faint" }, ` · ${note}`) : null)];
    fill($("db-settings"), h("dl", { class: "kv" },
      setting("autovacuum", "removes dead rows in the background"),
      setting("autovacuum_naptime", "seconds between autovacuum rounds"),
      setting("idle_in_transaction_session_timeout", "0 = sessions may stay idle in a transaction forever"),
      setting("hot_standby_feedback"), setting("track_counts", "needed for the figures above")));
  }

  // ---- boot --------------------------------------------------------------------------------------
  const PAGES = {
    overview: { path: overviewPath, render: renderOverview },
    queues: { path: () => "/queues", render: renderQueues },
    jobs: { path: jobsPath, render: renderJobs, setup: setupJobs },
    job: { path: () => `/jobs/${location.pathname.split("/").pop()}`, render: renderJob },
    workers: { path: () => "/workers", render: renderWorkers },
    schedules: { path: () => "/schedules", render: renderSchedules },
    database: { path: () => "/health", render: renderDatabase },
  };
  function boot() {
    const page = PAGES[cfg.page];
    for (const id of ["chart-throughput", "chart-latency", "chart-errors"]) if ($(id)) resizer.observe($(id));
    // the header's search box goes straight to the job
    const find = document.querySelector("form.find");
    find.addEventListener("submit", (ev) => {
      const value = find.elements.id.value.trim().replace(/^#/, "");
      ev.preventDefault();
      if (/^\d+$/.test(value)) location.assign(url(`/jobs/${value}`));
      else toast("A job id is a number", true);
    });
    if (!page) return;
    if (page.setup) page.setup();
    const initial = JSON.parse($("pgq-data").textContent);
    if (!initial && cfg.status === 404) { document.body.dataset.ready = "1"; return; } // nothing to follow
    if (initial) {
      try { page.render(initial); } catch (err) { setPageError(`Cannot show this page: ${err.message}`); throw err; }
    }
    live.start(() => api(page.path()), page.render);
    if (!initial) live.now();
    document.body.dataset.ready = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
