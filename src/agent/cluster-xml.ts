import { copyFile, readFile, rename, writeFile, stat } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { hostOf } from '../cluster/node-protocol.ts';

/**
 * `conf/cluster.xml` (reference red5-node-api.md §3): the `origins` <list> of the
 * `com.red5pro.cluster.ClusterConfiguration` bean is the only thing the agent changes. Everything else
 * (password, publicIp, comments, even commented-out <value>s inside the list) stays byte for byte:
 * operators edit this file by hand and a diff must show only the origins.
 */

export class ClusterXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterXmlError';
  }
}

/** Same length as the input, with comments and CDATA blanked, so indexes found here apply to the original. */
function mask(xml: string): string {
  return xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g, (m) => m.replace(/[^\n]/g, ' '));
}

interface OriginsList {
  /** Index just after `<list>` (or of `<list/>` when self-closing). */
  innerStart: number;
  /** Index of `</list>` (equal to innerStart for `<list/>`). */
  innerEnd: number;
  selfClosing: { start: number; end: number } | null;
}

function findOriginsList(xml: string): OriginsList {
  const m = mask(xml);
  const bean = /<bean\b[^>]*\bclass\s*=\s*["']com\.red5pro\.cluster\.ClusterConfiguration["'][^>]*>/.exec(m);
  if (!bean) throw new ClusterXmlError('no com.red5pro.cluster.ClusterConfiguration bean');
  const beanEnd = m.indexOf('</bean>', bean.index);
  if (beanEnd < 0) throw new ClusterXmlError('the ClusterConfiguration bean is not closed');
  const body = m.slice(0, beanEnd);
  const prop = /<property\b[^>]*\bname\s*=\s*["']origins["'][^>]*>/g;
  prop.lastIndex = bean.index;
  const p = prop.exec(body);
  if (!p) throw new ClusterXmlError('the ClusterConfiguration bean has no origins property');
  const list = /<list\b[^>]*?(\/?)>/g;
  list.lastIndex = p.index + p[0].length;
  const l = list.exec(body);
  const propEnd = body.indexOf('</property>', p.index);
  if (!l || (propEnd >= 0 && l.index > propEnd)) throw new ClusterXmlError('the origins property has no <list>');
  const innerStart = l.index + l[0].length;
  if (l[1] === '/') return { innerStart, innerEnd: innerStart, selfClosing: { start: l.index, end: innerStart } };
  const innerEnd = body.indexOf('</list>', innerStart);
  if (innerEnd < 0) throw new ClusterXmlError('the origins <list> is not closed');
  return { innerStart, innerEnd, selfClosing: null };
}

const decode = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** The origins the file lists now (`host` or `host:port`), commented-out values excluded. */
export function readOrigins(xml: string): string[] {
  const l = findOriginsList(xml);
  const inner = mask(xml).slice(l.innerStart, l.innerEnd);
  return [...inner.matchAll(/<value\b[^>]*>([\s\S]*?)<\/value>/g)].map((v) => decode(v[1].trim())).filter(Boolean);
}

const VALUE = /^[A-Za-z0-9.\-:[\]]+$/;

/** The file with its origins list set to `origins`; the rest of the file unchanged. */
export function rewriteOrigins(xml: string, origins: readonly string[]): string {
  for (const o of origins) if (!VALUE.test(o)) throw new ClusterXmlError(`refusing to write origin ${JSON.stringify(o)}: not an address`);
  const l = findOriginsList(xml);
  const lineStart = xml.lastIndexOf('\n', l.selfClosing?.start ?? l.innerStart) + 1;
  const listIndent = /^[ \t]*/.exec(xml.slice(lineStart))![0];
  const nl = xml.includes('\r\n') ? '\r\n' : '\n';
  if (l.selfClosing) {
    if (!origins.length) return xml;
    const tag = xml.slice(l.selfClosing.start, l.selfClosing.end).replace(/\s*\/>$/, '>');
    const step = listIndent.includes('\t') ? '\t' : '    ';
    const values = origins.map((o) => `${nl}${listIndent}${step}<value>${o}</value>`).join('');
    return xml.slice(0, l.selfClosing.start) + tag + values + `${nl}${listIndent}</list>` + xml.slice(l.selfClosing.end);
  }
  // Drop live <value>s (with the whitespace before them); keep comments and everything else in the list.
  const inner = xml.slice(l.innerStart, l.innerEnd);
  const masked = mask(xml).slice(l.innerStart, l.innerEnd);
  let kept = '';
  let at = 0;
  for (const v of masked.matchAll(/(?:\r?\n[ \t]*)?<value\b[^>]*>[\s\S]*?<\/value>/g)) {
    kept += inner.slice(at, v.index);
    at = v.index! + v[0].length;
  }
  kept += inner.slice(at);
  // New values go just before </list>, one per line.
  const tail = /(\r?\n)?[ \t]*$/.exec(kept)!;
  const head = kept.slice(0, tail.index);
  const closingIndent = tail[1] ? tail[0].slice(tail[1].length) : '';
  // Indented like the list's other lines (its comments), else one step deeper than the list itself.
  const innerIndent = /\n([ \t]*)\S/.exec(kept)?.[1] ?? listIndent + (listIndent.includes('\t') ? '\t' : '    ');
  const values = origins.map((o) => `${nl}${innerIndent}<value>${o}</value>`).join('');
  const rebuilt = origins.length ? head + values + (tail[1] ? tail[1] + closingIndent : '') : kept;
  return xml.slice(0, l.innerStart) + rebuilt + xml.slice(l.innerEnd);
}

export function sameOrigins(a: readonly string[], b: readonly string[]): boolean {
  const norm = (l: readonly string[]) => [...new Set(l.map(hostOf))].sort().join(',');
  return norm(a) === norm(b);
}

/**
 * Writes the new origins: a copy of the current file first (`cluster.xml.bak`, overwritten each change: it
 * is the file as it was before the agent's last change), then the new text to a temporary file renamed over
 * the original, so Red5 never reads a half-written file. Returns false when nothing had to change.
 */
export async function applyOrigins(file: string, origins: readonly string[]): Promise<boolean> {
  const xml = await readFile(file, 'utf8');
  if (sameOrigins(readOrigins(xml), origins)) return false;
  const next = rewriteOrigins(xml, origins);
  const { mode } = await stat(file);
  await copyFile(file, `${file}.bak`);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, next, { mode });
  await rename(tmp, file);
  return true;
}
