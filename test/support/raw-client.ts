import net from 'node:net';
import { parse, serialize } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';

export { serialize };
export type Message = BackendMessage & Record<string, unknown>;

/**
 * A client that speaks raw protocol through pg-protocol (an independent codec), so tests can send
 * exact message sequences and see every message the server answers.
 */
export class RawClient {
  private queue: Message[] = [];
  private waiters: (() => void)[] = [];
  processId = 0;
  secretKey = 0;

  private constructor(readonly socket: net.Socket) {
    void parse(socket, (msg) => {
      this.queue.push(msg as Message);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** `port` on 127.0.0.1, or a Unix socket's path (a local PostgreSQL to compare with). */
  static async connect(port: number | string, params: Record<string, string> = {}): Promise<RawClient> {
    const socket = typeof port === 'string' ? net.connect(port) : net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    socket.write(serialize.startup({ user: 'postgres', database: 'aws', ...params }));
    const startup = await client.untilReady();
    const key = startup.find((m) => m.name === 'backendKeyData') as unknown as {
      processID: number;
      secretKey: number;
    };
    client.processId = key.processID;
    client.secretKey = key.secretKey;
    return client;
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Messages up to and including the next ReadyForQuery. */
  async untilReady(timeoutMs = 20000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex((m) => m.name === 'readyForQuery');
      if (i >= 0) return this.queue.splice(0, i + 1);
      if (Date.now() > deadline)
        throw new Error(`no ReadyForQuery; got ${this.queue.map((m) => m.name).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Waits until `count` messages arrived (for flows that end without ReadyForQuery, e.g. Flush). */
  async take(count: number, timeoutMs = 20000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.queue.length} messages`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.queue.splice(0, count);
  }

  /** Resolves when the server has closed the connection. */
  ended(): Promise<void> {
    if (this.socket.readableEnded || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  close(): void {
    this.socket.end(serialize.end());
  }
}

export const names = (messages: Message[]) => messages.map((m) => m.name);
