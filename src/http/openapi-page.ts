/**
 * The page at /streammanager/api/docs/: renders openapi.json in the browser with a few lines of script,
 * so it works offline (no CDN, no bundled UI package).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stream Manager API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2rem}details{border:1px solid #ddd;border-radius:4px;margin:.3rem 0;padding:.3rem .6rem}
summary{cursor:pointer}code,pre{font:12px ui-monospace,monospace}pre{background:#f6f6f6;padding:.5rem;overflow:auto}
.m{display:inline-block;width:4.5rem;font-weight:bold}.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}.delete{color:#c62828}
.lock{color:#888}
</style></head><body>
<h1>Stream Manager API</h1>
<p>Machine-readable: <a href="../openapi.json">openapi.json</a> (OpenAPI 3). Routes marked 🔒 take
<code>?accessToken=</code> or <code>Authorization: Bearer</code> with the administrator token.</p>
<div id="ops">Loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
fetch('../openapi.json').then((r) => r.json()).then((doc) => {
  document.querySelector('h1').textContent = doc.info.title + ' API ' + doc.info.version;
  const byTag = {};
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) (byTag[op.tags[0]] ??= []).push({ path, method, op });
  let html = '';
  for (const tag of Object.keys(byTag).sort()) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of byTag[tag]) {
      const params = (op.parameters || []).map((p) => '<li><code>' + esc(p.name) + '</code> (' + p.in + (p.required ? ', required' : '') + ') <code>' + esc(JSON.stringify(p.schema)) + '</code></li>').join('');
      const body = op.requestBody ? '<p>Body:</p><pre>' + esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2)) + '</pre>' : '';
      const answers = Object.keys(op.responses).join(', ');
      html += '<details><summary><span class="m ' + method + '">' + method.toUpperCase() + '</span><code>' + esc(path) + '</code> ' +
        (op.security ? '<span class="lock">🔒</span> ' : '') + esc(op.summary || '') + '</summary>' +
        (params ? '<ul>' + params + '</ul>' : '') + body + '<p>Answers: ' + esc(answers) + '; errors are <code>{errorMessage, timestamp}</code>.</p></details>';
    }
  }
  document.getElementById('ops').innerHTML = html;
}).catch((e) => { document.getElementById('ops').textContent = 'Could not load openapi.json: ' + e; });
</script></body></html>
`;
