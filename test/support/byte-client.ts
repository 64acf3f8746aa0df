import net from 'node:net';
import {
  parseDataRow,
  parseErrorFields,
  parseParameterStatus,
  splitBackendMessages,
  type BackendFrame,
} from '../../server/wire/backend-parser.js';
import * as frontend from '../../server/wire/frontend-serializer.js';

/**
 * A protocol client that keeps the server's bytes as bytes (pg-protocol decodes text as UTF-8), for tests of
 * client encodings and of what reaches the socket. Frames are split with the server's own backend parser.
 */
export class ByteClient {
  readonly socket: net.Socket;
  /** Bytes of a frame not yet complete. */
  private pending = Buffer.alloc(0);
  /** Complete frames not yet taken by until(). */
  private frames: BackendFrame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      const complete = completeLength(data, 0);
      for (const f of splitBackendMessages(data.subarray(0, complete))) this.frames.push(f);
      this.pending = Buffer.from(data.subarray(complete));
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    void this.closed.then(() => this.wake());
  }

  /** A bare socket: nothing sent yet. */
  static async open(port: number): Promise<ByteClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new ByteClient(socket);
  }

  /** Connected and past startup (trust), at the first ReadyForQuery. */
  static async connect(port: number, params: Record<string, string> = {}): Promise<ByteClient> {
    const client = await ByteClient.open(port);
    client.send(frontend.startupMessage({ user: 'postgres', database: 'aws', ...params }));
    await client.until('Z');
    return client;
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  query(sql: Buffer | string): void {
    const bytes = typeof sql === 'string' ? Buffer.from(sql, 'utf8') : sql;
    const body = Buffer.concat([bytes, Buffer.of(0)]);
    const header = Buffer.alloc(5);
    header[0] = 0x51;
    header.writeUInt32BE(body.length + 4, 1);
    this.send(header, body);
  }

  /** The frames after those already taken, up to and including the next of type `code` (or all, on close). */
  async until(code: string, timeoutMs = 30000): Promise<BackendFrame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.code === code);
      if (i >= 0) return this.frames.splice(0, i + 1);
      if (this.socket.destroyed || this.socket.readableEnded) return this.frames.splice(0);
      if (Date.now() > deadline)
        throw new Error(`no '${code}' frame; got ${this.frames.map((f) => f.code).join('')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.socket.end(frontend.terminate());
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function completeLength(buf: Buffer, start: number): number {
  let offset = start;
  while (buf.length - offset >= 5) {
    const end = offset + 1 + buf.readUInt32BE(offset + 1);
    if (end > buf.length) break;
    offset = end;
  }
  return offset - start;
}

export const errorOf = (frames: BackendFrame[]) => {
  const e = frames.find((f) => f.code === 'E');
  return e ? parseErrorFields(e.payload) : undefined;
};
export const rowsOf = (frames: BackendFrame[]) =>
  frames.filter((f) => f.code === 'D').map((f) => parseDataRow(f.payload));
export const parameterStatuses = (frames: BackendFrame[]) =>
  frames.filter((f) => f.code === 'S').map((f) => parseParameterStatus(f.payload));
