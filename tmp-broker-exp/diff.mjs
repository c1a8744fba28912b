import { readFileSync } from 'node:fs';
function load(f) {
  const { profile: p, requests } = JSON.parse(readFileSync(f));
  const byId = new Map(p.nodes.map(n => [n.id, n]));
  const agg = new Map();
  for (let i = 0; i < p.samples.length; i++) { const n = byId.get(p.samples[i]); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; agg.set(k, (agg.get(k) ?? 0) + (p.timeDeltas[i] ?? 0)); }
  for (const [k, v] of agg) agg.set(k, v / requests); // µs per request
  return agg;
}
const a = load(process.argv[2]), b = load(process.argv[3]);
const keys = new Set([...a.keys(), ...b.keys()]);
const rows = [...keys].map(k => [k, a.get(k) ?? 0, b.get(k) ?? 0]).filter(r => !r[0].startsWith('(idle)'));
const tot = (m) => [...m].filter(([k]) => !k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
console.log('busy µs/req bare', tot(a).toFixed(2), 'sub', tot(b).toFixed(2));
for (const r of rows.sort((x, y) => (y[2] - y[1]) - (x[2] - x[1])).slice(0, 40)) console.log((r[2] - r[1]).toFixed(2).padStart(7), r[1].toFixed(2).padStart(6), r[2].toFixed(2).padStart(6), r[0]);
