/// The dashboard page: one self-contained HTML document (inline CSS and JavaScript; no CDN, no
/// web fonts, no libraries), so it works on machines without internet.
///
/// The script polls `/api/state` every second and renders parts with stable ids for tests and
/// tools: `#figures` (tiles `[data-figure]`), `#incidents` (rows `tr[data-incident-id]`; the
/// clock cell `td.cd[data-clock]` is `running`, `breached`, `paused`, `responded` or `none`,
/// countdowns ticking between polls at the SLA speed measured from successive snapshots),
/// `#queues` (rows `tr[data-team]` with `data-depth`), `#agents` (rows `tr[data-agent-id]`,
/// presence dot, load bar, the load legend `#load-legend`), `#chart` (two hand-drawn SVG
/// charts: warnings, breaches and escalations as lines; opened and closed as bars) and `#lag`
/// (rows `tr[data-group]`).
///
/// After each render the page records its layout for tests and tools: `data-scroll-width` and
/// `data-client-width` on `<body>` (the document's) and on `#incidents-scroll` and
/// `#agents-scroll` (the tables' boxes); equal widths mean no horizontal scrollbar. The incident table fits its box
/// (fixed column widths, long texts cut with an ellipsis and given in full as a tooltip); below
/// 1100 px the sections stack, below 720 px the team and target columns are left out.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Triage — live dashboard</title>
        <style>
          :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec;
                  --red:#d93d3d; --amber:#e89a1c; --green:#2f9e5b; --blue:#3a6fd8; --purple:#8b4fd1; --grey:#a3a9b6; }
          * { box-sizing:border-box; }
          body { margin:0; background:var(--bg); color:var(--ink);
                 font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
          header { display:flex; align-items:baseline; gap:18px; padding:14px 22px; background:#1d2330; color:#fff; }
          header h1 { font-size:18px; margin:0; font-weight:600; }
          header .meta { color:#b9c0cf; font-size:13px; }
          header .status { margin-left:auto; font-size:13px; }
          .status .dot { display:inline-block; width:9px; height:9px; border-radius:50%; background:var(--grey); margin-right:6px; }
          .status.live .dot { background:#3ddc84; }
          .status.down .dot { background:var(--red); }
          main { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap:16px; padding:16px 22px; }
          @media (max-width:1100px) { main { grid-template-columns: minmax(0,1fr); } }
          section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
          section h2 { font-size:14px; margin:0 0 8px; font-weight:600; display:flex; gap:8px; align-items:baseline; }
          section h2 small { color:var(--muted); font-weight:400; }
          #figures { grid-column:1 / -1; display:flex; flex-wrap:wrap; gap:10px; padding:10px 14px; }
          .figure { min-width:110px; padding:4px 10px; border-left:3px solid var(--line); }
          .figure b { display:block; font-size:20px; font-variant-numeric:tabular-nums; }
          .figure span { color:var(--muted); font-size:12px; }
          .figure.red { border-color:var(--red); } .figure.amber { border-color:var(--amber); }
          .figure.purple { border-color:var(--purple); } .figure.blue { border-color:var(--blue); } .figure.green { border-color:var(--green); }
          table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
          th { text-align:left; color:var(--muted); font-weight:500; font-size:12px; border-bottom:1px solid var(--line); padding:4px 6px; }
          td { padding:4px 6px; border-bottom:1px solid #f0f1f4; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:260px; }
          .scroll { max-height:560px; overflow:auto; }
          /* The incident table never grows wider than its box: fixed column shares, cut texts. */
          #incidents { table-layout:fixed; }
          #incidents td { max-width:none; }
          #incidents td.cd { white-space:normal; overflow-wrap:anywhere; }
          #incidents th.c-id { width:17%; } #incidents th.c-sev { width:5%; } #incidents th.c-status { width:15%; }
          #incidents th.c-team { width:8%; } #incidents th.c-agent { width:10%; } #incidents th.c-target { width:15%; } #incidents th.c-clock { width:30%; }
          @media (max-width:720px) { #incidents .c-team, #incidents .c-target { display:none; } }
          /* The same for the agents and the queues (team names can be long). */
          #agents, #queues { table-layout:fixed; }
          #agents td, #queues td { max-width:none; }
          #agents th.c-name { width:16%; } #agents th.c-team { width:17%; } #agents th.c-presence { width:17%; } #agents th.c-load { width:26%; } #agents th.c-held { width:24%; }
          #queues th.c-team { width:36%; } #queues th.c-depth { width:14%; } #queues th.c-oldest { width:30%; } #queues th.c-waiting { width:20%; }
          /* And the consumer lag ("0 not started" beside a long group name pushed the page wider). */
          #lag { table-layout:fixed; }
          #lag td { max-width:none; }
          #lag th.c-group { width:34%; } #lag th.c-topic { width:34%; } #lag th.c-lag { width:20%; } #lag th.c-parts { width:12%; }
          #agents .bar { width:56px; }
          .note { color:var(--muted); font-size:12px; margin:0 0 6px; }
          .note b { color:var(--ink); font-weight:600; }
          .sev { display:inline-block; min-width:20px; text-align:center; border-radius:4px; color:#fff; font-weight:600; font-size:12px; }
          .sev-A { background:var(--red); } .sev-B { background:var(--amber); } .sev-C { background:var(--blue); } .sev- { background:var(--grey); }
          .countdown { font-weight:600; }
          .countdown.breached { color:var(--red); }
          .countdown.soon { color:var(--amber); }
          .countdown.paused { color:var(--muted); font-weight:500; }
          .countdown.met { color:var(--green); font-weight:500; }
          .countdown.late { color:var(--red); font-weight:500; }
          .presence { display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:6px; vertical-align:middle; }
          .presence.online { background:var(--green); } .presence.away { background:var(--amber); } .presence.offline { background:var(--grey); }
          .bar { position:relative; width:120px; height:10px; background:#edf0f4; border-radius:5px; display:inline-block; vertical-align:middle; overflow:hidden; }
          .bar i { position:absolute; left:0; top:0; bottom:0; background:var(--blue); border-radius:5px; }
          .bar i.full { background:var(--red); }
          #chart svg { width:100%; height:auto; display:block; margin-bottom:8px; }
          .legend { display:flex; gap:14px; font-size:12px; color:var(--muted); margin:2px 0 6px; }
          .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
          .lag-bad { color:var(--red); font-weight:600; } .lag-ok { color:var(--green); } .muted { color:var(--muted); }
          .empty td { color:var(--muted); font-style:italic; }
        </style>
        </head>
        <body>
        <header>
          <h1>Triage</h1>
          <span class="meta">SLA time <b id="sla-now">—</b> · <span id="sla-rate">—</span></span>
          <span id="status" class="status"><span class="dot"></span><span id="status-text">connecting…</span></span>
        </header>
        <main>
          <section id="figures"></section>
          <section id="incidents-section">
            <h2>Open incidents <small id="incident-count"></small></h2>
            <div class="scroll" id="incidents-scroll">
            <table id="incidents">
              <thead><tr><th class="c-id">Incident</th><th class="c-sev">Sev</th><th class="c-status">Status</th><th class="c-team">Team</th><th class="c-agent">Agent</th>
                <th class="c-target">SLA target</th>
                <th class="c-clock" title="SLA time left on the target's clock; paused while waiting on the customer; once acknowledged, how long the first response took">Clock</th></tr></thead>
              <tbody><tr class="empty"><td colspan="7">waiting for data…</td></tr></tbody>
            </table>
            </div>
          </section>
          <div style="display:flex; flex-direction:column; gap:16px; min-width:0">
            <section id="chart-section">
              <h2>Over time <small id="chart-window"></small></h2>
              <div id="chart">
                <div class="legend"><span><i style="background:var(--amber)"></i>warnings</span><span><i style="background:var(--red)"></i>breaches</span><span><i style="background:var(--purple)"></i>escalations</span></div>
                <svg id="chart-sla" viewBox="0 0 600 150" role="img" aria-label="warnings, breaches and escalations per bucket"></svg>
                <div class="legend"><span><i style="background:var(--blue)"></i>opened</span><span><i style="background:var(--green)"></i>closed</span></div>
                <svg id="chart-flow" viewBox="0 0 600 150" role="img" aria-label="incidents opened and closed per bucket"></svg>
              </div>
            </section>
            <section id="queues-section">
              <h2>Queues <small>incidents waiting for an agent, per team</small></h2>
              <table id="queues">
                <thead><tr><th class="c-team">Team</th><th class="c-depth">Queued</th><th class="c-oldest">Oldest queued</th>
                  <th class="c-waiting" title="SLA time since it (last) went into the queue">Waiting</th></tr></thead>
                <tbody><tr class="empty"><td colspan="4">waiting for data…</td></tr></tbody>
              </table>
            </section>
            <section id="agents-section">
              <h2>Agents <small id="agent-count"></small></h2>
              <p class="note" id="load-legend">Load is in <b>load units</b>: each incident an agent holds weighs its severity's units; the bar is units held of the agent's capacity.</p>
              <div class="scroll" id="agents-scroll" style="max-height:320px">
              <table id="agents">
                <thead><tr><th class="c-name">Agent</th><th class="c-team">Team</th><th class="c-presence">Presence</th>
                  <th class="c-load" title="load units held / capacity in load units">Load (units)</th><th class="c-held" title="incidents held, by severity">Incidents</th></tr></thead>
                <tbody><tr class="empty"><td colspan="5">waiting for data…</td></tr></tbody>
              </table>
              </div>
            </section>
            <section id="lag-section">
              <h2>Consumer lag <small>per worker group</small></h2>
              <table id="lag">
                <thead><tr><th class="c-group">Group</th><th class="c-topic">Topic</th><th class="c-lag">Lag</th><th class="c-parts">Parts</th></tr></thead>
                <tbody><tr class="empty"><td colspan="4">waiting for data…</td></tr></tbody>
              </table>
            </section>
          </div>
        </main>
        <script>
        "use strict";
        let first = null;         // first snapshot: the baseline of the SLA speed
        let last = null;          // last snapshot
        let receivedAt = 0;       // performance.now() when it arrived
        let rate = null;          // SLA seconds per wall second, measured from two snapshots
        const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
        const $ = id => document.getElementById(id);

        function duration(seconds) {
          const s = Math.abs(seconds);
          const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = Math.floor(s % 60);
          if (d > 0) return d + "d " + h + "h";
          if (h > 0) return h + "h " + String(m).padStart(2, "0") + "m";
          return m + "m " + String(sec).padStart(2, "0") + "s";
        }

        function elapsedSla() {
          return rate == null ? 0 : (performance.now() - receivedAt) / 1000 * rate;
        }

        // What the incident's clock says: the running countdown; frozen while waiting on the customer;
        // once the first response is in and nothing else runs, how long it took (the target column
        // says "first response").
        function clockOf(i) {
          const sla = i.sla, fr = i.first_response, waiting = i.status === "waiting_on_customer";
          const took = fr ? (fr.met ? "met in " : "late: took ") + duration(fr.minutes * 60) : "";
          const told = fr ? "first response took " + duration(fr.minutes * 60) + (fr.target_minutes == null ? "" : " of its " + duration(fr.target_minutes * 60) + " target") : "";
          if (sla && sla.paused) {
            const text = sla.seconds < 0 ? "paused · breached by " + duration(sla.seconds) : "paused · " + duration(sla.seconds) + " left";
            return { kind: "paused", html: '<span class="countdown paused" title="waiting on the customer: the ' + esc(sla.target.replace("_", " ")) + ' clock is stopped">' + text + '</span>' };
          }
          if (sla) {
            const left = sla.seconds - elapsedSla();
            const cls = left < 0 ? "breached" : left < 1800 ? "soon" : "";
            const text = left < 0 ? "breached " + duration(left) + " ago" : duration(left) + " left";
            return { kind: left < 0 ? "breached" : "running", html: '<span class="countdown ' + cls + '"' + (told ? ' title="' + esc(told) + '"' : "") + '>' + text + '</span>' };
          }
          if (waiting) return { kind: "paused", html: '<span class="countdown paused" title="waiting on the customer; ' + esc(told || "no SLA clock") + '">paused' + (took ? " · " + esc(took) : "") + '</span>' };
          if (fr) return { kind: "responded", html: '<span class="countdown ' + (fr.met ? "met" : "late") + '" title="' + esc(told) + '">' + esc(took) + '</span>' };
          return { kind: "none", html: '<span class="muted">—</span>' };
        }

        // Short labels keep the columns narrow; the tooltip has the full name.
        const statusLabels = { waiting_on_customer: "waiting", solution_delivered: "solution sent", close_requested: "close asked" };
        const targetLabels = { first_response: "1st response", resolution: "resolution" };

        function clockCell(i) {
          const clock = clockOf(i);
          return '<td class="cd" data-clock="' + clock.kind + '">' + clock.html + '</td>';
        }

        function renderFigures(f, state) {
          const items = [
            ["open incidents", f.open_incidents, "blue", "open"], ["breached now", f.breached_incidents, "red", "breached"],
            ["paused (waiting on customer)", f.paused_incidents, "", "paused"], ["queued for an agent", f.queued_incidents, "amber", "queued"],
            ["agents online", f.agents_online + " / " + f.agents, "green"], ["warnings", f.warnings, "amber"], ["breaches", f.breaches, "red"],
            ["escalations", f.escalations, "purple"], ["opened", f.opened, "blue"], ["closed", f.closed, "green"], ["records read", f.records, ""],
          ];
          $("figures").innerHTML = items.map(([label, value, color, key]) =>
            '<div class="figure ' + color + '"' + (key ? ' data-figure="' + key + '"' : "") + '><b>' + esc(value) + '</b><span>' + esc(label) + '</span></div>').join("") +
            (f.caught_up ? "" : '<div class="figure"><b>…</b><span>catching up</span></div>');
        }

        function renderIncidents(state) {
          const body = $("incidents").tBodies[0];
          $("incident-count").textContent = state.incidents.length < state.incident_total
            ? state.incidents.length + " most urgent of " + state.incident_total : String(state.incident_total);
          if (state.incidents.length === 0) { body.innerHTML = '<tr class="empty"><td colspan="7">no open incidents</td></tr>'; return; }
          body.innerHTML = state.incidents.map(i =>
            '<tr data-incident-id="' + esc(i.id) + '" data-status="' + esc(i.status) + '">' +
            '<td title="' + esc(i.id + " — " + i.title) + '">' + esc(i.id) + '</td>' +
            '<td><span class="sev sev-' + esc(i.severity) + '">' + esc(i.severity || "?") + '</span></td>' +
            '<td title="' + esc(i.status.replace(/_/g, " ")) + '">' + esc(statusLabels[i.status] || i.status.replace(/_/g, " ")) + '</td>' +
            '<td class="c-team" title="' + esc(i.team) + '">' + esc(i.team) + '</td>' +
            '<td title="' + esc(i.assigned_agent) + '">' + (i.assigned_agent ? esc(i.assigned_agent) : '<span class="muted">' + (i.status === "open" ? "queued" : "—") + '</span>') + '</td>' +
            '<td class="c-target muted" title="' + esc(i.sla ? i.sla.target.replace("_", " ") : i.first_response ? "first response" : "") + '">' +
              esc(i.sla ? targetLabels[i.sla.target] || i.sla.target : i.first_response ? targetLabels.first_response : "") + '</td>' +
            clockCell(i) + '</tr>').join("");
        }

        function renderQueues(state) {
          const body = $("queues").tBodies[0];
          if (state.queues.length === 0) { body.innerHTML = '<tr class="empty"><td colspan="4">no team desks yet</td></tr>'; return; }
          body.innerHTML = state.queues.map(q => {
            const o = q.oldest;
            return '<tr data-team="' + esc(q.team) + '" data-depth="' + esc(q.depth) + '"' + (o ? ' data-oldest="' + esc(o.id) + '"' : "") + '>' +
              '<td title="' + esc(q.team) + '">' + esc(q.team) + '</td><td><b>' + esc(q.depth) + '</b></td>' +
              (o ? '<td title="opened ' + esc(o.opened_at) + '">' + esc(o.id) + ' <span class="sev sev-' + esc(o.severity) + '">' + esc(o.severity) + '</span></td>' +
                   '<td class="qw" data-since="' + esc(o.queued_since) + '">' + queuedFor(o) + '</td>'
                 : '<td class="muted">—</td><td></td>') + '</tr>';
          }).join("");
        }

        // SLA time the incident has waited in the queue, at the page's current SLA instant.
        function queuedFor(o) {
          return duration(Math.max(0, (Date.parse(last.now) - Date.parse(o.queued_since)) / 1000 + elapsedSla()));
        }

        function tick() {
          if (!last) return;
          const rows = $("incidents").tBodies[0].rows;
          for (let n = 0; n < rows.length && n < last.incidents.length; n++) {
            const cell = rows[n].querySelector(".cd");
            if (cell) { const clock = clockOf(last.incidents[n]); cell.innerHTML = clock.html; cell.dataset.clock = clock.kind; }
          }
          const queues = $("queues").tBodies[0].rows;
          for (let n = 0; n < queues.length && n < last.queues.length; n++) {
            const cell = queues[n].querySelector(".qw");
            if (cell && last.queues[n].oldest) cell.textContent = queuedFor(last.queues[n].oldest);
          }
          if (rate != null) $("sla-now").textContent = new Date(Date.parse(last.now) + elapsedSla() * 1000).toISOString().replace("T", " ").slice(0, 19);
        }

        function renderAgents(state) {
          const body = $("agents").tBodies[0];
          $("agent-count").textContent = state.agents.length ? state.figures.agents_online + " online of " + state.agents.length : "";
          const severities = ["A", "B", "C"];
          const weights = Object.fromEntries(severities.map(s => [s, state.load_weights[s.toLowerCase()]]));
          $("load-legend").innerHTML = 'Load is in <b>load units</b>: each incident an agent holds weighs its severity\'s units — ' +
            severities.map(s => '<span class="sev sev-' + esc(s) + '">' + esc(s) + '</span> <b>' + esc(weights[s]) + '</b>').join(" · ") +
            ' — so an agent may hold fewer incidents than units. The bar is units held of the agent\'s capacity.';
          if (state.agents.length === 0) { body.innerHTML = '<tr class="empty"><td colspan="5">no agents</td></tr>'; return; }
          body.innerHTML = state.agents.map(a => {
            const ratio = a.capacity > 0 ? Math.min(1, a.load / a.capacity) : 0;
            const count = s => a.assigned_by_severity[s.toLowerCase()];
            const held = severities.filter(s => count(s) > 0);
            const breakdown = held.map(s => count(s) + "×" + s).join(" ");
            const tooltip = a.load + " of " + a.capacity + " load units" + (held.length ? ": " + held.map(s =>
              count(s) + " × " + s + " (" + weights[s] + " units each)").join(" + ") : "");
            return '<tr data-agent-id="' + esc(a.id) + '" data-presence="' + esc(a.presence) + '" data-load="' + esc(a.load) + '" data-assigned="' + esc(a.assigned) + '">' +
              '<td title="' + esc(a.id) + '">' + esc(a.name) + '</td><td title="' + esc(a.team) + '">' + esc(a.team) + '</td>' +
              '<td><span class="presence ' + esc(a.presence) + '"></span>' + esc(a.presence) + '</td>' +
              '<td title="' + esc(tooltip) + '"><span class="bar"><i class="' + (ratio >= 1 ? "full" : "") + '" style="width:' + (ratio * 100).toFixed(0) + '%"></i></span> ' +
              '<span class="units">' + esc(a.load) + ' / ' + esc(a.capacity) + '</span></td>' +
              '<td title="' + esc(tooltip) + '">' + esc(a.assigned) + (breakdown ? ' <span class="muted">(' + esc(breakdown) + ')</span>' : "") + '</td></tr>';
          }).join("");
        }

        function axes(svg, max, series) {
          const W = 600, H = 150, L = 34, R = 8, T = 8, B = 20;
          let out = '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + (W - R) + '" y2="' + (H - B) + '" stroke="#c8ccd5"/>';
          for (const f of [0.5, 1]) {
            const y = H - B - f * (H - B - T);
            out += '<line x1="' + L + '" y1="' + y + '" x2="' + (W - R) + '" y2="' + y + '" stroke="#eef0f3"/>' +
              '<text x="' + (L - 4) + '" y="' + (y + 4) + '" font-size="10" text-anchor="end" fill="#6b7385">' + Math.round(max * f) + '</text>';
          }
          const n = series.starts.length, span = n * series.bucket_seconds;
          out += '<text x="' + L + '" y="' + (H - 5) + '" font-size="10" fill="#6b7385">−' + duration(span) + '</text>' +
                 '<text x="' + (W - R) + '" y="' + (H - 5) + '" font-size="10" text-anchor="end" fill="#6b7385">now</text>';
          return { out, W, H, L, R, T, B };
        }

        function renderCharts(series) {
          const n = series.starts.length;
          $("chart-window").textContent = n + " × " + series.bucket_seconds + " s";
          // Lines: warnings, breaches, escalations.
          const lines = [["warnings", "var(--amber)", ""], ["escalations", "var(--purple)", "5 3"], ["breaches", "var(--red)", ""]];
          const nice = m => Math.max(2, m + (m % 2));  // even, so the half-way label is a whole number
          let max = nice(Math.max(...lines.flatMap(([k]) => series[k])));
          let a = axes("chart-sla", max, series);
          const x = (i, g) => g.L + (n <= 1 ? 0 : i * (g.W - g.L - g.R) / (n - 1));
          const y = (v, g) => g.H - g.B - v / max * (g.H - g.B - g.T);
          let svg = a.out;
          for (const [key, color, dash] of lines) {
            const points = series[key].map((v, i) => x(i, a).toFixed(1) + "," + y(v, a).toFixed(1)).join(" ");
            svg += '<polyline class="series-' + key + '" fill="none" stroke="' + color + '" stroke-width="2"' +
              (dash ? ' stroke-dasharray="' + dash + '"' : "") + ' points="' + points + '"/>';
          }
          $("chart-sla").innerHTML = svg;
          // Bars: opened and closed side by side.
          max = nice(Math.max(...series.opened, ...series.closed));
          a = axes("chart-flow", max, series);
          svg = a.out;
          const slot = (a.W - a.L - a.R) / Math.max(1, n), w = Math.max(1, slot / 2 - 1);
          series.opened.forEach((v, i) => { if (v > 0) { const h = v / max * (a.H - a.B - a.T);
            svg += '<rect class="bar-opened" x="' + (a.L + i * slot).toFixed(1) + '" y="' + (a.H - a.B - h).toFixed(1) + '" width="' + w.toFixed(1) + '" height="' + h.toFixed(1) + '" fill="var(--blue)"/>'; } });
          series.closed.forEach((v, i) => { if (v > 0) { const h = v / max * (a.H - a.B - a.T);
            svg += '<rect class="bar-closed" x="' + (a.L + i * slot + w + 1).toFixed(1) + '" y="' + (a.H - a.B - h).toFixed(1) + '" width="' + w.toFixed(1) + '" height="' + h.toFixed(1) + '" fill="var(--green)"/>'; } });
          $("chart-flow").innerHTML = svg;
        }

        function renderLag(state) {
          const body = $("lag").tBodies[0];
          if (state.lag.length === 0) { body.innerHTML = '<tr class="empty"><td colspan="4">no worker groups</td></tr>'; return; }
          body.innerHTML = state.lag.map(g => {
            let cell;
            if (g.error) cell = '<span class="lag-bad" title="' + esc(g.error) + '">error</span>';
            else if (g.lag == null) cell = '<span class="muted">measuring…</span>';
            else cell = '<span class="' + (g.lag > 100 ? "lag-bad" : "lag-ok") + '">' + esc(g.lag) + '</span>' + (g.not_started ? ' <span class="muted">not started</span>' : "");
            return '<tr data-group="' + esc(g.group) + '"><td title="' + esc(g.group) + '">' + esc(g.group) + '</td><td class="muted" title="' + esc(g.topic) + '">' + esc(g.topic) + '</td><td>' + cell + '</td><td>' + esc(g.partitions) + '</td></tr>';
          }).join("");
        }

        // The layout, for tests and tools: equal widths mean no horizontal scrollbar.
        function recordLayout() {
          const doc = document.documentElement;
          document.body.dataset.scrollWidth = doc.scrollWidth;
          document.body.dataset.clientWidth = doc.clientWidth;
          for (const box of [$("incidents-scroll"), $("agents-scroll")]) {
            box.dataset.scrollWidth = box.scrollWidth;
            box.dataset.clientWidth = box.clientWidth;
          }
        }

        function render(state) {
          renderFigures(state.figures, state);
          renderIncidents(state);
          renderQueues(state);
          renderAgents(state);
          renderCharts(state.series);
          renderLag(state);
          recordLayout();
          $("sla-now").textContent = state.now.replace("T", " ").slice(0, 19);
          $("sla-rate").textContent = rate == null ? "measuring speed…" : "×" + (rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)) + " wall time";
        }

        async function poll() {
          try {
            const response = await fetch("api/state", { cache: "no-store" });
            if (!response.ok) throw new Error("HTTP " + response.status);
            const state = await response.json();
            if (!first) first = state;
            const wall = (Date.parse(state.wall_clock) - Date.parse(first.wall_clock)) / 1000;
            if (wall >= 0.5) rate = (Date.parse(state.now) - Date.parse(first.now)) / 1000 / wall;
            last = state;
            receivedAt = performance.now();
            render(state);
            $("status").className = "status live";
            $("status-text").textContent = "live";
          } catch (error) {
            $("status").className = "status down";
            $("status-text").textContent = "disconnected (" + error.message + ")";
          }
        }

        poll();
        setInterval(poll, 1000);
        setInterval(tick, 250);
        </script>
        </body>
        </html>
        """#
}
