/** The frame-header follower must know the frame boundaries exactly, however TCP splits the bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as wsModule from 'ws';

// ws ships its frame encoder and parser (exported at run time, not in @types/ws): the reference to check against.
interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(ev: 'conclude', fn: (code: number, reason: Buffer) => void): this;
  on(ev: 'ping' | 'error', fn: (e: Error) => void): this;
}
const { Receiver, Sender } = wsModule as unknown as {
  Receiver: new (o: { isServer: boolean }) => WsReceiver;
  Sender: { frame(data: Buffer, o: Record<string, unknown>): Buffer[] };
};
import { FrameTracker, PING_TO_CLIENT, closeFrame } from '../../src/proxy/frames.ts';

/** Frames as ws encodes them, masked (client → server) or not. */
function encode(opcode: 'text' | 'binary' | 'ping' | 'close', payload: Buffer, masked: boolean, fin = true): Buffer {
  const op = { text: 1, binary: 2, ping: 9, close: 8 }[opcode];
  const list = Sender.frame(payload, { fin, opcode: op, mask: masked, maskBuffer: randomBytes(4), readOnly: false, rsv1: false });
  return Buffer.concat(list);
}

function stream(masked: boolean) {
  const frames = [
    encode('text', Buffer.from('{"data":{"type":"status"}}'), masked),
    encode('binary', randomBytes(125), masked),
    encode('binary', randomBytes(126), masked),
    encode('binary', randomBytes(70_000), masked), // 64-bit length
    encode('ping', Buffer.alloc(0), masked),
    encode('text', Buffer.alloc(0), masked, false), // fragmented message start
    encode('text', Buffer.from('tail'), masked),
  ];
  const ends: number[] = [];
  let at = 0;
  for (const f of frames) ends.push((at += f.length));
  return { bytes: Buffer.concat(frames), ends };
}

for (const masked of [false, true]) {
  test(`boundaries are exact for every split point (${masked ? 'masked' : 'unmasked'} frames)`, () => {
    const { bytes, ends } = stream(masked);
    // Byte-by-byte: the tracker is at a boundary exactly after each frame's last byte.
    const t = new FrameTracker();
    for (let i = 0; i < bytes.length; i++) {
      t.push(bytes.subarray(i, i + 1));
      assert.equal(t.atBoundary, ends.includes(i + 1), `after byte ${i + 1}`);
    }
    // Two chunks, split everywhere in the headers and around them.
    for (let cut = 1; cut < 400; cut++) {
      const u = new FrameTracker();
      u.push(bytes.subarray(0, cut));
      assert.equal(u.atBoundary, ends.includes(cut), `cut ${cut}`);
      u.push(bytes.subarray(cut));
      assert.ok(u.atBoundary);
      assert.equal(u.closeSeen, false);
    }
  });
}

test('data frames count as activity, pings do not; a close frame is noticed', () => {
  const t = new FrameTracker();
  assert.equal(t.push(encode('ping', Buffer.from('x'), false)), false);
  assert.equal(t.push(encode('text', Buffer.from('hi'), false)), true);
  assert.equal(t.push(encode('binary', Buffer.alloc(0), true)), true);
  const big = encode('binary', randomBytes(1000), false);
  t.push(big.subarray(0, 10));
  assert.equal(t.push(big.subarray(10, 20)), true, 'payload bytes of a data frame are activity');
  t.push(big.subarray(20));
  assert.equal(t.closeSeen, false);
  t.push(encode('close', Buffer.from([0x03, 0xe8]), false));
  assert.equal(t.closeSeen, true);
  assert.ok(t.atBoundary);
});

test('frames the proxy writes are valid for ws (masked close to a server, unmasked close and ping to a client)', async () => {
  const got: Array<[string, unknown]> = [];
  const asServer = new Receiver({ isServer: true });
  asServer.on('conclude', (code, reason) => got.push(['server-close', [code, reason.toString()]]));
  asServer.on('error', (e: Error) => got.push(['error', e.message]));
  asServer.write(closeFrame(1001, 'Client went away', true));

  const asClient = new Receiver({ isServer: false });
  asClient.on('ping', () => got.push(['ping', null]));
  asClient.on('conclude', (code, reason) => got.push(['client-close', [code, reason.toString()]]));
  asClient.on('error', (e: Error) => got.push(['error', e.message]));
  asClient.write(PING_TO_CLIENT);
  asClient.write(closeFrame(1001, 'é'.repeat(100), false)); // reason cut to the 123-byte limit
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.slice(0, 2), [
    ['server-close', [1001, 'Client went away']],
    ['ping', null],
  ]);
  assert.equal(got[2][0], 'client-close');
  const [code, reason] = got[2][1] as [number, string];
  assert.equal(code, 1001);
  // 100 × 'é' is 200 bytes; the cut keeps whole characters within 123 bytes: 61 × 'é' = 122 bytes.
  assert.equal(reason, 'é'.repeat(61));
  assert.equal(Buffer.byteLength(reason), 122);
  assert.equal(got.length, 3, 'no error from the receiver');

  // With one-byte characters the reason is cut to exactly 123 bytes.
  const ascii: Array<[number, string]> = [];
  const asClient2 = new Receiver({ isServer: false });
  asClient2.on('conclude', (c, r) => ascii.push([c, r.toString()]));
  asClient2.on('error', (e: Error) => ascii.push([-1, e.message]));
  asClient2.write(closeFrame(1000, 'x'.repeat(200), false));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ascii, [[1000, 'x'.repeat(123)]]);
});
