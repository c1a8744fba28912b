import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, logDestination } from '../../src/lib/logger.ts';
import { loadConfig } from '../../src/config/load.ts';

const capture = () => {
  const lines: string[] = [];
  let wrote!: () => void;
  const written = new Promise<void>((r) => (wrote = r));
  const out = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      wrote();
      done();
    },
  });
  return { lines, out, written };
};

describe('server.logFormat', () => {
  it('json writes one JSON object a line; auto does too when stdout is not a terminal', () => {
    for (const format of ['json', 'auto'] as const) {
      const { lines, out } = capture();
      createLogger('info', logDestination(format, { isTTY: false }, out)).info({ port: 5080 }, 'listening');
      assert.equal(JSON.parse(lines.join('')).msg, 'listening', format);
    }
  });

  it('pretty, and auto on a terminal, write readable lines that still hide secrets', async () => {
    for (const [format, isTTY] of [['pretty', false], ['auto', true]] as const) {
      const { lines, out, written } = capture();
      createLogger('info', logDestination(format, { isTTY }, out)).info({ password: 's3cret', port: 5080 }, 'listening');
      await written; // pino-pretty formats in a stream of its own
      const text = lines.join('');
      assert.throws(() => JSON.parse(text), `${format}: not JSON`);
      assert.match(text, /INFO.*listening/);
      assert.match(text, /port: 5080/);
      assert.doesNotMatch(text, /s3cret/);
      assert.match(text, /\[REDACTED\]/);
    }
  });

  it('is a config key with default auto, refused when unknown', () => {
    assert.equal(loadConfig({ env: {} }).server.logFormat, 'auto');
    assert.equal(loadConfig({ env: { SM_SERVER_LOGFORMAT: 'pretty' } }).server.logFormat, 'pretty');
    assert.throws(() => loadConfig({ env: { SM_SERVER_LOGFORMAT: 'xml' } }), /server\.logFormat/);
  });
});
