/**
 * The live dashboard: one self-contained HTML page (no build step, no external assets)
 * that polls `/api/overview` every two seconds and shows symbols per layer, recent
 * transitions, backfill progress, consumer-group backlogs and commit latency.
 * Serves the page only; the figures come from the route the caller mounts.
 */
import type { RouteHandler } from "./ops-server.ts"

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strata</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --ink:#e6e9ee; --dim:#8a96a3; --accent:#4fb3ff; --ok:#3ecf8e; --warn:#f5b942; --bad:#ff6b6b; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:baseline; gap:1rem; padding:1rem 1.5rem; border-bottom:1px solid #26313c; }
  header h1 { margin:0; font-size:1.25rem; letter-spacing:.04em; }
  header .status { color:var(--dim); }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(320px, 1fr)); gap:1rem; padding:1rem 1.5rem; }
  section { background:var(--panel); border-radius:8px; padding:1rem; }
  h2 { margin:0 0 .75rem; font-size:.8rem; text-transform:uppercase; letter-spacing:.08em; color:var(--dim); }
  .layers { display:grid; grid-template-columns:repeat(4, 1fr); gap:.5rem; }
  .layer { text-align:center; padding:.5rem; border-radius:6px; background:#202b36; }
  .layer b { display:block; font-size:1.6rem; }
  .layer span { color:var(--dim); font-size:.8rem; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  td, th { padding:.25rem .4rem; text-align:left; border-bottom:1px solid #26313c; }
  th { color:var(--dim); font-weight:normal; }
  td.n, td.up, td.down { text-align:right; white-space:nowrap; }
  td.up, td.down { text-align:left; }
  .bar { height:6px; background:#26313c; border-radius:3px; overflow:hidden; min-width:60px; }
  .bar i { display:block; height:100%; background:var(--accent); }
  .up { color:var(--ok); } .down { color:var(--warn); } .dead { color:var(--bad); }
  .kv { display:grid; grid-template-columns:auto 1fr; gap:.25rem 1rem; }
  .kv div:nth-child(odd) { color:var(--dim); }
  .empty { color:var(--dim); font-style:italic; }
</style>
</head>
<body>
<header><h1>STRATA</h1><span class="status" id="status">connecting…</span></header>
<main>
  <section><h2>Symbols per layer</h2><div class="layers" id="layers"></div></section>
  <section><h2>Ingest</h2><div class="kv" id="ingest"></div></section>
  <section><h2>Backlog (pending + unread)</h2><table id="backlog"></table></section>
  <section><h2>Recent transitions</h2><table id="transitions"></table></section>
  <section><h2>Backfill</h2><div id="bfstatus" class="kv"></div><table id="backfill"></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id)
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c])
const num = (n) => Number(n).toLocaleString("en-US")
const NAMES = ["unqualified", "L1", "L2", "L3"]
function render(o) {
  $("layers").innerHTML = [0, 1, 2, 3].map((l) => '<div class="layer"><b>' + num(o.layers[l]) + '</b><span>' + NAMES[l] + '</span></div>').join("")
  const i = o.ingest
  $("ingest").innerHTML = [
    ["entries", num(i.entries)], ["applied", num(i.applied)], ["late", num(i.late)], ["dead-lettered", num(i.dead)],
    ["transitions", num(i.transitions)], ["backfill commands", num(i.commands)], ["projected", num(o.projected)],
    ["commit latency p50 / p99", o.latencyMs.count ? o.latencyMs.p50.toFixed(1) + " / " + o.latencyMs.p99.toFixed(1) + " ms" : "–"]
  ].map(([k, v]) => "<div>" + k + "</div><div>" + v + "</div>").join("")
  $("backlog").innerHTML = Object.entries(o.backlog).map(([k, v]) => "<tr><td>" + esc(k) + '</td><td class="n">' + (v === null ? "–" : num(v)) + "</td></tr>").join("")
  $("transitions").innerHTML = o.transitions.length === 0 ? '<tr><td class="empty">none yet</td></tr>' :
    "<tr><th>symbol</th><th>event</th><th>move</th><th>event time (UTC)</th></tr>" +
    o.transitions.map((t) => "<tr><td>" + esc(t.symbol) + "</td><td>" + esc(t.type.replace("Symbol", "")) + '</td><td class="' + (t.to > t.from ? "up" : "down") + '">' +
      NAMES[t.from] + " → " + NAMES[t.to] + "</td><td>" + new Date(t.at).toISOString().replace("T", " ").slice(0, 19) + "</td></tr>").join("")
  $("bfstatus").innerHTML = Object.entries(o.backfill.byStatus).map(([k, v]) => "<div>" + esc(k) + "</div><div>" + num(v) + "</div>").join("") || '<div class="empty">no commands yet</div><div></div>'
  $("backfill").innerHTML = o.backfill.recent.map((c) => {
    const pct = c.planned > 0 ? Math.round((100 * c.done) / c.planned) : (c.status === "done" ? 100 : 0)
    return "<tr><td>" + esc(c.symbol) + "</td><td>L" + c.layer + '</td><td class="' + (c.status === "dead" ? "dead" : "") + '">' + esc(c.status) +
      '</td><td><div class="bar"><i style="width:' + pct + '%"></i></div></td><td class="n">' + c.done + "/" + c.planned + '</td><td class="n">' + num(c.written) + " rows</td></tr>"
  }).join("")
}
async function tick() {
  try {
    const r = await fetch("api/overview")
    if (!r.ok) throw new Error(r.status + " " + r.statusText)
    render(await r.json())
    $("status").textContent = "live · " + new Date().toLocaleTimeString()
  } catch (e) {
    $("status").textContent = "unreachable: " + e.message
  }
}
tick()
setInterval(tick, 2000)
</script>
</body>
</html>
`

export const dashboardHandler: RouteHandler = (_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
  res.end(PAGE)
}
