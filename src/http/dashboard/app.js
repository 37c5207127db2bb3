// The dashboard's script: polls /api/overview and /api/series every two seconds, draws
// the time series with uPlot and renders the tables; looks symbols up on /api/symbol.
// Plain browser JavaScript, no build step. `window.strataDashboard` exposes the charts and
// the last answers for tests and for an operator's console.
"use strict"
const $ = (id) => document.getElementById(id)
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c])
const num = (n) => n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 })
const ms = (n) => n === null || n === undefined ? "–" : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US")
const utc = (t) => new Date(t).toISOString().replace("T", " ").slice(0, 19)
const day = (t) => new Date(t).toISOString().slice(0, 10)
const duration = (d) => {
  if (d === null || d === undefined) return "–"
  const s = Math.round(d / 1000)
  if (s < 60) return s + " s"
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s"
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"
}
const NAMES = ["unqualified", "L1", "L2", "L3"]
const COLORS = ["#4fb3ff", "#3ecf8e", "#f5b942", "#ff6b6b", "#b48cff", "#5ad1d1", "#ff9f5a", "#9aa5b1", "#e36fb0", "#c8e05a", "#6f8cff", "#d9a066", "#7be0a6"]
const state = { charts: {}, series: null, overview: null, symbol: null }
window.strataDashboard = state

// One uPlot per card; rebuilt when the set of series changes (a new group, a new reason).
function plot(id, el, labels, data, opts) {
  opts = opts || {}
  const key = labels.join("|") + (opts.limit !== undefined ? "|limit" : "")
  let c = state.charts[id]
  if (!c || c.key !== key) {
    if (c) c.plot.destroy()
    const series = [{}].concat(labels.map((label, i) => ({
      label, stroke: (opts.colors || COLORS)[i % COLORS.length], width: 1.5, spanGaps: false,
      scale: opts.scales && opts.scales[i] ? opts.scales[i] : "y",
      dash: opts.dashes && opts.dashes[i] ? opts.dashes[i] : undefined,
      value: (_u, v) => v === null || v === undefined ? "–" : num(v)
    })))
    const axes = [
      { stroke: "#8a96a3", grid: { stroke: "#26313c" }, ticks: { stroke: "#26313c" } },
      { stroke: "#8a96a3", grid: { stroke: "#26313c" }, ticks: { stroke: "#26313c" }, size: 50, scale: "y" }
    ]
    if (opts.scales && opts.scales.includes("y2")) axes.push({ side: 1, stroke: "#8a96a3", grid: { show: false }, scale: "y2", size: 45 })
    const scales = { x: { time: true }, y: { range: (_u, lo, hi) => [Math.min(0, lo ?? 0), Math.max(1, hi ?? 1) * 1.05] } }
    if (opts.scales && opts.scales.includes("y2")) scales.y2 = { range: (_u, lo, hi) => [0, Math.max(1, hi ?? 1) * 1.05] }
    const p = new uPlot({ width: Math.max(200, el.clientWidth), height: 150, series, axes, scales, legend: { live: false }, cursor: { drag: { x: false, y: false } } }, data, el)
    c = state.charts[id] = { key, plot: p, el }
  } else {
    c.plot.setData(data)
  }
  c.labels = labels
  c.data = data
}

// Charts follow their card's width: the grid decides it.
const resize = new ResizeObserver((entries) => {
  for (const e of entries) for (const c of Object.values(state.charts)) if (c.el === e.target) c.plot.setSize({ width: Math.max(200, e.target.clientWidth), height: 150 })
})
for (const id of ["chart-ingest", "chart-latency", "chart-backlog", "chart-transitions", "chart-backfill", "chart-dead"]) resize.observe($(id))

function renderSeries(s) {
  const t = s.t.map((x) => x / 1000)
  const keyed = (obj) => [Object.keys(obj), Object.values(obj)]
  plot("ingest", $("chart-ingest"), ["entries/s"], [t, s.ingestPerS])
  plot("latency", $("chart-latency"), ["p50", "p99"], [t, s.commitP50, s.commitP99])
  const [bl, bv] = keyed(s.backlog)
  // "prefix:{0}:lifecycle (strata-projector)" → "lifecycle → strata-projector"
  const groupLabel = (k) => k.replace(/^(?:.*:)?([^:]+) \((.*)\)$/, "$1 → $2")
  plot("backlog", $("chart-backlog"), bl.length ? bl.map(groupLabel) : ["(no groups yet)"], [t].concat(bl.length ? bv : [t.map(() => null)]))
  const [tl, tv] = keyed(s.transitionsPerMin)
  plot("transitions", $("chart-transitions"), tl.map((k) => "→ " + k), [t].concat(tv))
  const limit = s.rateLimitPerS
  const bfLabels = ["rows/s", "requests/s"].concat(limit === null ? [] : ["limit req/s"])
  const bfData = [t, s.backfillRowsPerS, s.providerRequestsPerS].concat(limit === null ? [] : [t.map(() => limit)])
  plot("backfill", $("chart-backfill"), bfLabels, bfData, { scales: ["y", "y2", "y2"], dashes: [null, null, [4, 4]] })
  $("backfill-limit").textContent = "rows/s (left) · provider requests/s (right) · " + (limit === null ? "no limit set" : "limit " + num(limit) + " req/s")
  const [dl, dv] = keyed(s.deadPerMin)
  plot("dead", $("chart-dead"), dl.length ? dl : ["(none)"], [t].concat(dl.length ? dv : [t.map(() => 0)]))
  $("window").textContent = "last " + Math.round(s.windowMs / 60000) + " min · a point every " + (s.intervalMs / 1000) + " s · " + s.t.length + " points"
  const last = (a) => a.length ? a[a.length - 1] : null
  const rate = last(s.ingestPerS)
  $("kpi-ingest").textContent = rate === null ? "–" : num(rate) + " /s"
  $("kpi-dead").textContent = num(s.deadInWindow)
}

function renderOverview(o) {
  $("layers").innerHTML = [0, 1, 2, 3].map((l) => {
    const d = o.layerChange ? o.layerChange[l] : null
    const change = d === null ? "" : d > 0 ? '<em class="up">+' + num(d) + "</em>" : d < 0 ? '<em class="down">' + num(d) + "</em>" : "<em>±0</em>"
    return '<div class="layer" data-layer="' + l + '"><b>' + num(o.layers[l]) + "</b><span>" + NAMES[l] + "</span>" + change + "</div>"
  }).join("")
  $("layers-window").textContent = o.layerChange ? "change since " + utc(o.layerChangeSince).slice(11) + " UTC" : "change shown once sampled"
  const lat = o.latencyMs
  $("kpi-latency").textContent = lat.p50 === null ? "idle" : ms(lat.p50) + " / " + ms(lat.p99) + " ms"
  $("kpi-latency").title = lat.p50 === null ? "no batch committed in the last sampled interval" : ""
  $("kpi-backlog").textContent = num(Object.values(o.backlog).reduce((a, v) => a + (v || 0), 0))
  $("kpi-actors").textContent = num(o.actors)
  $("kpi-backfill").textContent = num(o.backfill.byStatus.running || 0) + " / " + num(o.backfill.byStatus.queued || 0)
  const names = ["entries", "applied", "late", "dead", "transitions", "commands", "batches"]
  $("counters").innerHTML = "<tr><th></th>" + names.map((k) => '<th class="n">' + k + "</th>").join("") + "</tr>" +
    '<tr><td>total</td>' + names.map((k) => '<td class="n">' + num(o.persisted[k] ?? 0) + "</td>").join("") + "</tr>" +
    '<tr><td>this process</td>' + names.map((k) => '<td class="n">' + num(o.ingest[k]) + "</td>").join("") + "</tr>"
  $("counters-note").textContent = "total: persisted with each batch, kept across restarts; this process: since it started at " + utc(o.processStartedAt) + " UTC"
  // A partitioned install names each partition's lease holder and epoch, and the router.
  const lease = (p) => (p.lease ?? "none") + (p.epoch != null ? " (epoch " + p.epoch + ")" : "")
  $("partitions").innerHTML = '<tr><th>partition</th><th>consumer</th><th class="n">idle</th><th>lease</th></tr>' +
    (o.router ? '<tr><td>router</td><td>' + o.members.length + ' members</td><td class="n">lag ' + (o.router.lag ?? "?") + "</td><td>" + esc(lease({ lease: o.router.owner, epoch: o.router.epoch })) + "</td></tr>" : "") +
    o.partitions.map((p) => "<tr><td>" + p.partition + "</td><td>" + esc(p.consumer ?? "none yet") + '</td><td class="n">' + duration(p.idleMs) + "</td><td>" + esc(lease(p)) + "</td></tr>").join("")
  $("partitions-note").textContent = o.router ? "Each partition's lease holder (owner id) and epoch; the router copies the ingress stream into the partitions." : "One engine reads partition 0."
  $("transitions").innerHTML = o.transitions.length === 0 ? '<tr><td class="empty">none yet</td></tr>' :
    '<colgroup><col style="width:22%"><col style="width:22%"><col style="width:24%"><col style="width:32%"></colgroup>' +
    "<tr><th>symbol</th><th>event</th><th>move</th><th>event time (UTC)</th></tr>" +
    o.transitions.map((t) => "<tr><td>" + esc(t.symbol) + "</td><td>" + esc(t.type.replace("Symbol", "")) + '</td><td class="' + (t.to > t.from ? "up" : "down") + '">' +
      NAMES[t.from] + " → " + NAMES[t.to] + "</td><td>" + utc(t.at) + "</td></tr>").join("")
  const chips = Object.entries(o.backfill.byStatus)
  $("bfstatus").innerHTML = chips.length ? chips.map(([k, v]) => '<span class="chip">' + esc(k) + " <b>" + num(v) + "</b></span>").join("") : '<span class="empty">no commands yet</span>'
  $("backfill").innerHTML = o.backfill.queue.length === 0 ? "" :
    '<colgroup><col style="width:10%"><col style="width:7%"><col style="width:10%"><col style="width:13%"><col style="width:10%"><col style="width:11%"><col style="width:7%"><col style="width:10%"><col style="width:22%"></colgroup>' +
    '<tr><th>symbol</th><th>layer</th><th>status</th><th>progress</th><th class="n">tasks</th><th class="n">rows</th><th class="n">failed</th><th class="n">ETA</th><th>last error</th></tr>' +
    o.backfill.queue.map((c) => {
      const pct = c.planned > 0 ? Math.round((100 * c.done) / c.planned) : (c.status === "done" ? 100 : 0)
      return '<tr data-command="' + esc(c.command_id) + '"><td>' + esc(c.symbol) + "</td><td>L" + c.layer + '</td><td class="' + (c.status === "dead" ? "dead" : "") + '">' + esc(c.status) +
        '</td><td><div class="bar"><i style="width:' + pct + '%"></i></div></td><td class="n">' + c.done + "/" + c.planned + '</td><td class="n">' + num(c.written) +
        '</td><td class="n' + (c.failed > 0 ? " dead" : "") + '">' + c.failed + '</td><td class="n">' + (c.etaMs === null ? "–" : duration(c.etaMs)) +
        '</td><td title="' + esc(c.last_error ?? "") + '">' + esc(c.last_error ?? "") + "</td></tr>"
    }).join("")
}

function renderSymbol(v) {
  if (v.error) { $("symbol-result").innerHTML = '<p class="error">' + esc(v.error) + "</p>"; return }
  if (!v.known) { $("symbol-result").innerHTML = '<p class="empty" id="symbol-unknown">' + esc(v.symbol) + ": the engine has not seen this symbol.</p>"; return }
  const layer = (l) => l === null ? "–" : NAMES[l]
  const kv = '<div><h3>' + esc(v.symbol) + '</h3><div class="kv">' +
    "<div>layer (actor)</div><div id=\"symbol-layer\">" + layer(v.actorLayer) + "</div>" +
    "<div>layer (companies)</div><div>" + layer(v.companiesLayer) + "</div>" +
    "<div>last event</div><div>" + (v.lastEventAt === null ? "–" : utc(v.lastEventAt) + " UTC") + "</div>" +
    "<div>backfill commands</div><div>" + v.backfill.length + "</div></div></div>"
  const err = "<div><h3>Last backfill error</h3>" + (v.lastError ? '<p class="error" id="symbol-error">' + esc(v.lastError.error) + "</p><p class=\"note\">" + utc(v.lastError.at) + " UTC · " + esc(v.lastError.command_id) + "</p>" : '<p class="empty">none</p>') + "</div>"
  const cov = '<div class="full"><h3>Coverage per series</h3>' + (v.coverage.length === 0 ? '<p class="empty">nothing stored yet</p>' :
    '<table class="fixed" id="symbol-coverage"><tr><th>kind</th><th>interval</th><th>tier</th><th class="n">ranges</th><th>from</th><th>to</th><th class="n">days covered</th></tr>' +
    v.coverage.map((c) => "<tr><td>" + esc(c.kind) + "</td><td>" + esc(c.interval || "–") + "</td><td>" + esc(c.tier) + '</td><td class="n">' + c.ranges + "</td><td>" + day(c.from) + "</td><td>" + day(c.to) + '</td><td class="n">' + num(c.coveredMs / 86400000) + "</td></tr>").join("") + "</table>") + "</div>"
  const tr = '<div class="full"><h3>Transitions</h3>' + (v.transitions.length === 0 ? '<p class="empty">none</p>' :
    '<div class="scroll"><table class="fixed" id="symbol-transitions"><tr><th>event</th><th>move</th><th>event time (UTC)</th><th>cause (scores entry)</th></tr>' +
    v.transitions.map((t) => "<tr><td>" + esc(t.type.replace("Symbol", "")) + '</td><td class="' + (t.to > t.from ? "up" : "down") + '">' + NAMES[t.from] + " → " + NAMES[t.to] + "</td><td>" + utc(t.at) + "</td><td>" + esc(t.cause) + "</td></tr>").join("") + "</table></div>") + "</div>"
  $("symbol-result").innerHTML = kv + err + cov + tr
}

async function lookUp(symbol) {
  try {
    const r = await fetch("api/symbol?symbol=" + encodeURIComponent(symbol))
    state.symbol = await r.json()
  } catch (e) {
    state.symbol = { error: "lookup failed: " + e.message }
  }
  renderSymbol(state.symbol)
}
$("symbol-form").addEventListener("submit", (e) => {
  e.preventDefault()
  const s = $("symbol-input").value.trim()
  if (s) lookUp(s)
})

const getJson = async (path) => {
  const r = await fetch(path)
  if (!r.ok) throw new Error(path + ": " + r.status + " " + r.statusText)
  return r.json()
}
async function tick() {
  try {
    const [o, s] = await Promise.all([getJson("api/overview"), getJson("api/series")])
    state.overview = o
    state.series = s
    renderOverview(o)
    renderSeries(s)
    $("status").textContent = "live · updated " + new Date().toLocaleTimeString()
  } catch (e) {
    $("status").textContent = "unreachable: " + e.message
  }
}
tick()
setInterval(tick, 2000)
