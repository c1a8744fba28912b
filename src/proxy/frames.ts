/**
 * Just enough RFC 6455 framing for a proxy that relays raw bytes.
 *
 * The proxy joins the two already-upgraded TCP sockets and never decodes payloads (no unmasking, no
 * UTF-8 checks, no re-framing), which is what keeps it cheap. It still follows frame *headers* (2–14 bytes
 * per frame, O(frames) not O(bytes)) so that it knows when a stream sits between two frames: only there
 * can it inject a frame of its own (a close with a meaningful code, or a keep-alive ping) without
 * corrupting the stream. It also notices close frames and data frames passing by.
 */
import { randomFillSync } from 'node:crypto';

const OP_CLOSE = 0x8;
const NOT_TRACKABLE = -1;

export class FrameTracker {
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** Partial header bytes (a header may be split across TCP chunks). */
  private readonly hdr = Buffer.allocUnsafe(14);
  private hdrLen = 0;
  private need = 2;
  private opcode = 0;
  /** A close frame started in this direction: the endpoints are doing the close handshake themselves. */
  closeSeen = false;

  /** Between two frames: a frame of our own may be written now. */
  get atBoundary(): boolean {
    return this.remaining === 0 && this.hdrLen === 0;
  }

  /**
   * Follows one chunk. Returns true when any of its bytes belong to a data frame (text, binary or
   * continuation), which is what counts as activity; pings and pongs do not.
   */
  push(chunk: Buffer): boolean {
    let data = false;
    let i = 0;
    const len = chunk.length;
    while (i < len) {
      if (this.remaining !== 0) {
        if (this.remaining === NOT_TRACKABLE) return true;
        const take = Math.min(this.remaining, len - i);
        this.remaining -= take;
        i += take;
        if (this.opcode < 3) data = true;
        continue;
      }
      this.hdr[this.hdrLen++] = chunk[i++];
      if (this.hdrLen === 2) {
        const b1 = this.hdr[1];
        const l7 = b1 & 0x7f;
        this.need = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
      if (this.hdrLen >= 2 && this.hdrLen === this.need && this.headerDone()) data = true;
    }
    return data;
  }

  /** Returns true when the frame just started is a data frame. */
  private headerDone(): boolean {
    const h = this.hdr;
    this.opcode = h[0] & 0x0f;
    const l7 = h[1] & 0x7f;
    let n: number;
    if (l7 === 126) n = h.readUInt16BE(2);
    else if (l7 === 127) {
      const hi = h.readUInt32BE(2);
      // Beyond 2^53 bytes the count is not exact: stop tracking (and never inject) rather than guess.
      n = hi > 0x1fffff ? NOT_TRACKABLE : hi * 0x1_0000_0000 + h.readUInt32BE(6);
    } else n = l7;
    this.hdrLen = 0;
    this.need = 2;
    this.remaining = n;
    if (this.opcode === OP_CLOSE) this.closeSeen = true;
    return this.opcode < 3;
  }
}

/** A close frame. Frames towards a server (the node leg) must be masked (RFC 6455 §5.3). */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  // 123 bytes at most (125 minus the code), cut at a character boundary so the reason stays valid UTF-8.
  let text = reason;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  const r = Buffer.from(text, 'utf8');
  const payload = Buffer.allocUnsafe(2 + r.length);
  payload.writeUInt16BE(code, 0);
  r.copy(payload, 2);
  return frame(OP_CLOSE, payload, masked);
}

/** An empty ping towards the client (unmasked: the proxy is the server on that leg). */
export const PING_TO_CLIENT = Buffer.from([0x89, 0x00]);

function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  // Control frames carry at most 125 bytes, so the 7-bit length always suffices.
  const out = Buffer.allocUnsafe(2 + (masked ? 4 : 0) + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = (masked ? 0x80 : 0) | payload.length;
  if (!masked) {
    payload.copy(out, 2);
    return out;
  }
  const mask = randomFillSync(Buffer.allocUnsafe(4));
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3];
  return out;
}
