import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOrigins, readOrigins, rewriteOrigins } from '../../src/agent/cluster-xml.ts';
import { STOCK_CLUSTER_XML } from './fake-red5.ts';

const stock = readFileSync(STOCK_CLUSTER_XML, 'utf8');
const LIST_END = '<!-- <value>0.0.0.2:1935</value> -->\n\t\t\t</list>';

describe('cluster.xml origins', () => {
  it('a stock file lists no origins: its commented-out values are not origins', () => {
    assert.deepEqual(readOrigins(stock), []);
  });

  it('writes the origins into the list and changes nothing else, comments included', () => {
    const next = rewriteOrigins(stock, ['10.0.0.1', '10.0.0.2:1935']);
    assert.equal(
      next,
      stock.replace(LIST_END, '<!-- <value>0.0.0.2:1935</value> -->\n\t\t\t\t<value>10.0.0.1</value>\n\t\t\t\t<value>10.0.0.2:1935</value>\n\t\t\t</list>'),
    );
    assert.deepEqual(readOrigins(next), ['10.0.0.1', '10.0.0.2:1935']);
    // Replacing and then clearing gives back the stock file byte for byte.
    assert.equal(rewriteOrigins(rewriteOrigins(next, ['10.0.0.9']), []), stock);
  });

  it('only the ClusterConfiguration bean counts: a commented-out copy or another bean is left alone', () => {
    const decoy = `<!-- <bean class="com.red5pro.cluster.ClusterConfiguration"><property name="origins"><list><value>9.9.9.9</value></list></property></bean> -->\n`
      + `<bean class="other.Bean"><property name="origins"><list><value>8.8.8.8</value></list></property></bean>\n`;
    const xml = stock.replace('<beans ', decoy + '<beans ');
    const next = rewriteOrigins(xml, ['10.0.0.1']);
    assert.ok(next.includes(decoy), 'the decoys are untouched');
    assert.deepEqual(readOrigins(next), ['10.0.0.1']);
  });

  it('opens a self-closing list and keeps CRLF line ends', () => {
    const crlf = stock.replace(/\n/g, '\r\n').replace(/<list>[\s\S]*?<\/list>/, '<list/>');
    const next = rewriteOrigins(crlf, ['10.0.0.1']);
    assert.match(next, /<list>\r\n\t\t\t\t<value>10\.0\.0\.1<\/value>\r\n\t\t\t<\/list>/);
    assert.ok(!/[^\r]\n/.test(next), 'no bare LF introduced');
  });

  it('refuses a file without the bean or the origins list, and values that are not addresses', () => {
    assert.throws(() => rewriteOrigins('<beans/>', ['10.0.0.1']), /ClusterConfiguration bean/);
    assert.throws(() => rewriteOrigins(stock.replace('name="origins"', 'name="other"'), ['10.0.0.1']), /no origins property/);
    assert.throws(() => rewriteOrigins(stock, ['10.0.0.1</value><value>x']), /not an address/);
  });

  it('applyOrigins keeps a backup, keeps the file mode, leaves no temporary file, and skips a no-op', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-xml-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cluster.xml');
    writeFileSync(file, stock);
    chmodSync(file, 0o640);
    assert.equal(await applyOrigins(file, ['10.0.0.1']), true);
    assert.equal(readFileSync(`${file}.bak`, 'utf8'), stock);
    assert.deepEqual(readOrigins(readFileSync(file, 'utf8')), ['10.0.0.1']);
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(dir).sort(), ['cluster.xml', 'cluster.xml.bak']);
    // Same host with the manager's HTTP port: nothing to change, no new backup.
    writeFileSync(`${file}.bak`, 'untouched');
    assert.equal(await applyOrigins(file, ['10.0.0.1:1935']), false);
    assert.equal(readFileSync(`${file}.bak`, 'utf8'), 'untouched');
  });
});
