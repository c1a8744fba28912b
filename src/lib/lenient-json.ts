/**
 * JSON first, then a small lenient reader for the bodies the official deployment scripts send once bash
 * has stripped their quotes: `{regions:[us-east-1],launchConfig:lc1,scalePolicy:sp1,name:grp1}`.
 * Unquoted keys and values are accepted; unquoted values that look like numbers, true, false or null
 * become those. Never evaluates anything.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return new LenientReader(text).readDocument();
  }
}

export class LenientJsonError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
    this.name = 'LenientJsonError';
  }
}

const MAX_DEPTH = 64;

class LenientReader {
  private i = 0;
  constructor(private readonly s: string) {}

  readDocument(): unknown {
    const v = this.value(0);
    this.ws();
    if (this.i < this.s.length) throw new LenientJsonError('unexpected trailing text', this.i);
    return v;
  }

  private ws() {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new LenientJsonError('nesting too deep', this.i);
    this.ws();
    const c = this.s[this.i];
    if (c === undefined) throw new LenientJsonError('unexpected end of body', this.i);
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"' || c === "'") return this.quoted();
    return this.bare(',}]');
  }

  private object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { ...out };
    }
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      const key = c === '"' || c === "'" ? this.quoted() : String(this.bareToken(':,}]'));
      if (!key) throw new LenientJsonError('expected a key', this.i);
      this.ws();
      if (this.s[this.i] !== ':') throw new LenientJsonError(`expected ':' after key ${JSON.stringify(key)}`, this.i);
      this.i++;
      out[key] = this.value(depth + 1);
      this.ws();
      const sep = this.s[this.i++];
      if (sep === '}') return { ...out };
      if (sep !== ',') throw new LenientJsonError("expected ',' or '}'", this.i - 1);
    }
  }

  private array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const sep = this.s[this.i++];
      if (sep === ']') return out;
      if (sep !== ',') throw new LenientJsonError("expected ',' or ']'", this.i - 1);
    }
  }

  private quoted(): string {
    const q = this.s[this.i++];
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i++];
      if (c === q) return out;
      if (c === '\\') {
        const e = this.s[this.i++];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '/': '/', '\\': '\\', '"': '"', "'": "'" };
        if (e === 'u') {
          const hex = this.s.slice(this.i, this.i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new LenientJsonError('bad \\u escape', this.i);
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 4;
        } else if (e !== undefined && map[e] !== undefined) out += map[e];
        else throw new LenientJsonError('bad escape', this.i - 1);
      } else out += c;
    }
    throw new LenientJsonError('unterminated string', this.i);
  }

  private bareToken(stops: string): string {
    const start = this.i;
    while (this.i < this.s.length && !stops.includes(this.s[this.i]) && !'{['.includes(this.s[this.i])) this.i++;
    return this.s.slice(start, this.i).trim();
  }

  private bare(stops: string): unknown {
    const tok = this.bareToken(stops);
    if (!tok) throw new LenientJsonError('expected a value', this.i);
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (tok === 'null') return null;
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(tok)) return Number(tok);
    return tok;
  }
}
