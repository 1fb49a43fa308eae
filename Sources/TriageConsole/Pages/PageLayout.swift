/// The HTML shell of every page: header with navigation and the signed-in person, the outcome
/// of the last action, the page's body, the stylesheet and the live-update script — all inline
/// (no CDN, no web fonts, no build step).
///
/// Live updates: every element with `data-live="KEY"` gets its text replaced by
/// `values[KEY]` of `GET /api/live` (polled every ``PageContext/liveIntervalMilliseconds``);
/// with `data-live-attr="ATTR"` that attribute is set too; an element with `data-live-reload`
/// reloads the page when its value changes (rows appeared or went). A 401 (session expired)
/// goes to the sign-in page.
enum PageLayout {
    static func render(title: String, page: String, context: PageContext?, body: String) -> String {
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Triage console</title>
            <style>\(css)</style>
            </head>
            <body data-page="\(page)">
            <header>
            <a class="brand" href="/queues">Triage</a>

            """
        if let context {
            let account = context.account
            let who = [account.role.rawValue, account.team].compactMap { $0 }.joined(separator: ", ")
            html += """
                <nav>
                <a href="/queues" id="nav-queues"\(page == "queues" ? " aria-current=\"page\"" : "")>Queues</a>
                <a href="/incidents" id="nav-incidents"\(page.hasPrefix("incident") ? " aria-current=\"page\"" : "")>Incidents</a>
                <a href="/agents" id="nav-agents"\(page == "agents" ? " aria-current=\"page\"" : "")>Agents</a>
                <a href="/reports" id="nav-reports"\(page == "reports" ? " aria-current=\"page\"" : "")>Reports</a>
                </nav>
                <span class="who" id="signed-in-as" data-username="\(HTML.escape(account.username))" data-role="\(account.role.rawValue)">\(HTML.escape(account.displayName)) <small>(\(HTML.escape(who)))</small></span>
                <form method="post" action="/signout" class="inline">\(HTML.formFields(csrf: context.csrf))<button type="submit" id="sign-out">Sign out</button></form>

                """
        }
        html += "</header>\n<main>\n"
        if let flash = context?.flash {
            html +=
                "<p id=\"flash\" class=\"flash \(flash.succeeded ? "ok" : "refused")\" role=\"status\" data-outcome=\"\(flash.succeeded ? "done" : "refused")\">\(HTML.escape(flash.message))</p>\n"
        }
        html += body
        html += "\n</main>\n"
        if let context {
            html += "<footer><span id=\"live-status\" data-live-at=\"\">live</span></footer>\n"
            html += "<script>\(script(interval: context.liveIntervalMilliseconds))</script>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    static func script(interval: Int) -> String {
        """
        (function () {
          var status = document.getElementById('live-status');
          // Rows came or went: render the page again (a GET, never a form sent again).
          var reloading = false;
          function reload() {
            if (reloading) return;
            reloading = true;
            window.location.replace(window.location.pathname + window.location.search);
          }
          function apply(values) {
            var nodes = document.querySelectorAll('[data-live]');
            for (var i = 0; i < nodes.length; i++) {
              var node = nodes[i], value = values[node.getAttribute('data-live')];
              if (value === undefined) continue;
              if (node.hasAttribute('data-live-reload') && node.textContent !== value) { reload(); return; }
              if (node.textContent !== value) node.textContent = value;
              var attr = node.getAttribute('data-live-attr');
              if (attr) node.setAttribute(attr, value);
            }
          }
          // Ask only for what this page shows: the kinds of its keys, and the incidents by id
          // when it shows a few (a detail page), not every incident on every poll.
          function query() {
            var kinds = {}, ids = {}, count = 0, nodes = document.querySelectorAll('[data-live]');
            for (var i = 0; i < nodes.length; i++) {
              var key = nodes[i].getAttribute('data-live'), cut = key.indexOf(':');
              kinds[cut < 0 ? key : key.slice(0, cut)] = true;
              if (key.indexOf('incident-') === 0 && cut > 0 && !ids[key.slice(cut + 1)]) { ids[key.slice(cut + 1)] = true; count++; }
            }
            var q = '?kinds=' + encodeURIComponent(Object.keys(kinds).join(','));
            if (count > 0 && count <= 50) q += '&ids=' + encodeURIComponent(Object.keys(ids).join(','));
            return q;
          }
          var live = '/api/live' + query();
          function poll() {
            fetch(live, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
              .then(function (response) {
                if (response.status === 401) {
                  window.location.href = '/signin?next=' + encodeURIComponent(window.location.pathname + window.location.search);
                  return null;
                }
                return response.ok ? response.json() : null;
              })
              .then(function (body) {
                if (!body) return;
                apply(body.values);
                status.textContent = 'live · ' + body.at;
                status.setAttribute('data-live-at', body.at);
              })
              .catch(function () { status.textContent = 'offline — retrying'; });
          }
          setInterval(poll, \(max(250, interval)));
        })();
        """
    }

    static let css = """
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f5f6f8}
        header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;background:#1d2330;color:#fff}
        header a{color:#fff;text-decoration:none}
        .brand{font-weight:700;font-size:1.1rem}
        nav{display:flex;flex-wrap:wrap;gap:.25rem}
        nav a{padding:.25rem .6rem;border-radius:4px}
        nav a[aria-current=page]{background:#3b4660}
        .who{margin-left:auto}
        .who small{opacity:.75}
        form.inline{display:inline}
        main{padding:1rem;max-width:1400px;margin:0 auto}
        h1{font-size:1.35rem;margin:.2rem 0 1rem}
        h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
        table{width:100%;border-collapse:collapse;background:#fff;margin-bottom:1rem}
        th,td{text-align:left;padding:.4rem .55rem;border-bottom:1px solid #e3e6eb;vertical-align:top;overflow-wrap:anywhere}
        th{background:#eef0f4;font-weight:600}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        .sev{display:inline-block;min-width:1.5em;text-align:center;border-radius:3px;font-weight:700;color:#fff}
        .sev-a{background:#c62828}.sev-b{background:#ef6c00}.sev-c{background:#607d8b}
        .clock-breached{color:#c62828;font-weight:600}.clock-paused{color:#6a1b9a}.clock-at_risk{color:#ef6c00;font-weight:600}
        .flash{padding:.6rem .8rem;border-radius:4px}
        .flash.ok{background:#e8f5e9;border:1px solid #a5d6a7}
        .flash.refused{background:#ffebee;border:1px solid #ef9a9a}
        .card{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:.8rem;margin-bottom:1rem}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:1rem}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0}
        dl.facts dt{font-weight:600}
        dl.facts dd{margin:0;overflow-wrap:anywhere}
        form.action{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.3rem 0}
        input,select,textarea,button{font:inherit;padding:.3rem .5rem;border:1px solid #b8bfcc;border-radius:4px;max-width:100%}
        button{background:#2f5fd0;color:#fff;border-color:#2f5fd0;cursor:pointer}
        header button{background:transparent;border-color:#7d89a3}
        textarea{width:100%;min-height:4em}
        form.filters{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:1rem}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #e3e6eb;padding:.6rem;font-size:.85rem}
        footer{padding:.5rem 1rem;color:#6b7385;font-size:.8rem}
        .muted{color:#6b7385}
        @media (max-width:700px){
          main{padding:.5rem}
          .who{margin-left:0;width:100%}
          table.stack thead{display:none}
          table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
          table.stack tr{border-bottom:2px solid #d0d5de;padding:.3rem 0}
          table.stack td{border:0;display:flex;justify-content:space-between;gap:1rem;padding:.2rem .5rem;text-align:right}
          table.stack td::before{content:attr(data-label);font-weight:600;text-align:left}
          table.stack td.optional{display:none}
        }
        """
}
