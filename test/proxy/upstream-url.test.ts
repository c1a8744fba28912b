/** Pure rules of the proxy: which requests are accepted and what the node is sent. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkClientHandshake,
  cleanHost,
  clientMeta,
  isProxyPath,
  parseProxyUrl,
  refusalResponse,
  upstreamHeaders,
  upstreamPath,
} from '../../src/proxy/upstream-url.ts';

const ok = (url: string) => {
  const r = parseProxyUrl(url);
  assert.ok(r.ok, `${url}: ${!r.ok ? r.message : ''}`);
  return r.value;
};
const no = (url: string) => {
  const r = parseProxyUrl(url);
  assert.ok(!r.ok, `${url} should be refused`);
  return r;
};

test('proxy paths', () => {
  for (const p of ['/streammanager', '/streammanager/', '/streammanager?x=1', '/streammanager/ctx', '/streammanager/a/b?x']) assert.ok(isProxyPath(p), p);
  for (const p of ['/', '/streammanagerx', '/streammanager-x/', '/live', '/streammanager/api/4.0/admin'.replace('streammanager', 'sm')]) assert.ok(!isProxyPath(p), p);
});

test('upstream URL: id first, others in order without host/app, decoded once and re-encoded', () => {
  const t = ok('/streammanager/?token=a%2Bb%26c&id=str%20eam&host=127.0.0.2&username=x+y&app=live&flag&k=%C3%A9');
  assert.deepEqual(t, {
    host: '127.0.0.2',
    app: 'live',
    id: 'str eam',
    params: [
      ['token', 'a+b&c'],
      ['username', 'x y'],
      ['flag', ''],
      ['k', 'é'],
    ],
  });
  assert.equal(upstreamPath(t), '/live?id=str%20eam&token=a%2Bb%26c&username=x%20y&flag=&k=%C3%A9');
  // Double-encoded input is decoded only once: the node sees what the SDK encoded.
  assert.equal(upstreamPath(ok('/streammanager?host=h&app=live&id=a%252F')), '/live?id=a%252F');
  assert.equal(upstreamPath(ok('/streammanager?host=h&app=live')), '/live');
});

test('app and context: multi-segment scopes, slashes trimmed, context appended', () => {
  assert.equal(upstreamPath(ok('/streammanager/room1/?host=h&app=%2Flive%2F&id=s')), '/live/room1?id=s');
  assert.equal(upstreamPath(ok('/streammanager?host=h&app=live/conf-1&id=s')), '/live/conf-1?id=s');
  assert.equal(upstreamPath(ok('/streammanager/a/b?host=h&app=live')), '/live/a/b');
});

test('refusals: missing, malformed, duplicated, dangerous', () => {
  const cases: Array<[string, number]> = [
    ['/streammanager/?app=live', 400],
    ['/streammanager/?host=h', 400],
    ['/streammanager/?host=h&app=%2F', 400],
    ['/streammanager/?host=h&app=live&x=%', 400],
    ['/streammanager/?host=h&app=live&%ZZ=1', 400],
    ['/streammanager/?host=h&app=live&=1', 400],
    ['/streammanager/?host=h&app=live&id=1&id=2', 400],
    ['/streammanager/?host=h&app=a/../b', 400],
    ['/streammanager/?host=h&app=a//b', 400],
    ['/streammanager/?host=h&app=a%20b', 400],
    ['/streammanager/?host=h&app=a%23b', 400],
    ['/streammanager/%2e%2e?host=h&app=live', 400],
    ['/streammanager/a%3Fb?host=h&app=live', 400],
    ['/streammanager/?host=h h&app=live', 400],
    ['/streammanager/?host=-h&app=live', 400],
    ['/streammanager/?host=h&app=' + 'a'.repeat(255), 400],
    ['/streammanager/?' + 'x=1&'.repeat(100) + 'host=h&app=live', 400],
    ['/streammanager/?host=h&app=live&t=' + 'a'.repeat(9000), 414],
    ['/elsewhere?host=h&app=live', 404],
  ];
  for (const [url, status] of cases) assert.equal(no(url).status, status, url.slice(0, 80));
});

test('host normalisation', () => {
  assert.equal(cleanHost('Node-A.Example.COM'), 'node-a.example.com');
  assert.equal(cleanHost('[::1]'), '::1');
  assert.equal(cleanHost('fe80::1'), 'fe80::1');
  assert.equal(cleanHost('10.0.0.1'), '10.0.0.1');
  for (const bad of ['', ' ', '10.0.0.1:80', 'a..b', 'a_b', 'x/y', '[::1', 'a'.repeat(254), '::g']) assert.equal(cleanHost(bad), undefined, bad);
});

test('client meta: WEB/DIRECT, secure, plain IPv4', () => {
  const sock = { remoteAddress: '::ffff:203.0.113.9', remotePort: 51234 };
  assert.deepEqual(clientMeta({ 'user-agent': 'Mozilla/5.0 (Mac)' }, sock), {
    address: '203.0.113.9',
    port: 51234,
    type: 'WEB',
    secure: false,
    userAgent: 'Mozilla/5.0 (Mac)',
  });
  assert.equal(clientMeta({ origin: 'https://x' }, sock).type, 'WEB');
  assert.equal(clientMeta({ 'user-agent': 'okhttp/4' }, sock).type, 'DIRECT');
  assert.equal(clientMeta({}, sock).type, 'DIRECT');
  assert.equal(clientMeta({ 'x-forwarded-proto': 'HTTPS, http' }, sock).secure, true);
  assert.equal(clientMeta({}, { ...sock, encrypted: true }).secure, true);
  assert.equal(clientMeta({}, { remoteAddress: '::1', remotePort: 1 }).address, '::1');
});

test('client handshake checks', () => {
  const base = { upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
  const good = checkClientHandshake('GET', { ...base, 'sec-websocket-protocol': 'json', 'sec-websocket-extensions': 'permessage-deflate' });
  assert.deepEqual(good, { ok: true, value: { key: base['sec-websocket-key'], protocol: 'json', extensions: 'permessage-deflate' } });
  assert.equal(checkClientHandshake('POST', base).ok, false);
  const v = checkClientHandshake('GET', { ...base, 'sec-websocket-version': '8' });
  assert.ok(!v.ok && v.status === 426 && v.headers?.['Sec-WebSocket-Version'] === '13');
  assert.equal(checkClientHandshake('GET', { ...base, upgrade: 'h2c' }).ok, false);
  assert.equal(checkClientHandshake('GET', { ...base, 'sec-websocket-key': 'abc' }).ok, false);
  assert.equal(checkClientHandshake('GET', { ...base, 'sec-websocket-protocol': 'json\u0001' }).ok, false);
});

test('upstream headers: the classic X-Forwarded-For* set, client key/UA/subprotocol/origin, nothing else', () => {
  const h = upstreamHeaders(
    { host: '127.0.0.2', port: 5080 },
    { key: 'dGhlIHNhbXBsZSBub25jZQ==', protocol: 'json' },
    { address: '203.0.113.9', port: 51234, type: 'WEB', secure: true, userAgent: 'Mozilla/5.0' },
    'https://app',
  );
  assert.deepEqual(h, {
    Host: '127.0.0.2:5080',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol': 'json',
    'User-Agent': 'Mozilla/5.0',
    Origin: 'https://app',
    'X-Forwarded-For': '203.0.113.9',
    'X-Forwarded-For-Meta-Port': '51234',
    'X-Forwarded-For-Meta-Type': 'WEB',
    'X-Forwarded-For-Meta-Secure': 'true',
  });
  assert.equal(upstreamHeaders({ host: 'fd00::2', port: 5080 }, { key: 'k' }, { address: 'a', port: 1, type: 'DIRECT', secure: false }).Host, '[fd00::2]:5080');
});

test('refusal response: status line, JSON error body with length', () => {
  const r = refusalResponse({ status: 503, message: 'Too many', headers: { 'Retry-After': '1' } }, 42);
  assert.equal(
    r,
    'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 42\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{"errorMessage":"Too many","timestamp":42}',
  );
});
