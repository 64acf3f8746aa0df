import type net from 'node:net';
import type { PgError } from '../errors.js';
import * as backend from './backend-serializer.js';
import { FrontendParser } from './frontend-parser.js';
import type { FrontendMessage } from './messages.js';
import { runStartup, type StartupResult, type WireOptions } from './startup.js';

export type { AuthMethod, WireLogger, WireOptions } from './startup.js';

/** Stop reading from the socket while this many decoded messages wait for the session. */
const INBOX_HIGH_WATER = 1024;
/** Queued output beyond this is written without waiting for flush(), to bound memory on large results. */
const AUTO_FLUSH_BYTES = 256 * 1024;
/** How long close() waits for the peer to take the last bytes before destroying the socket. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Runs startup on a fresh socket: SSLRequest ('S' and a TLS upgrade when tls is set, else 'N'), GSSENCRequest
 * ('N'), CancelRequest (calls onCancelRequest and closes), protocol 3.x StartupMessage, authentication, then
 * AuthenticationOk + ParameterStatus* + BackendKeyData (written before this resolves).
 * Resolves null when the socket was a cancel request, went away, or failed startup (the FATAL was already sent).
 * Does not send ReadyForQuery: the session does. Never rejects.
 */
export async function acceptConnection(socket: net.Socket, options: WireOptions): Promise<Connection | null> {
  // Without it, Nagle's algorithm plus delayed ACK held each extended-protocol round trip for ~40 ms.
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  const remoteAddress = socket.remoteAddress ?? '';
  try {
    const result = await runStartup(socket, options);
    return result && new Connection(result, remoteAddress, options);
  } catch (err) {
    options.logger?.warn({ err }, 'startup failed unexpectedly');
    socket.destroy();
    return null;
  }
}

/** A client after successful startup: decoded frontend messages in, batched backend messages out. */
export class Connection {
  readonly startupParameters: Record<string, string>;
  readonly processId: number;
  readonly secretKey: number;
  readonly remoteAddress: string;
  /** Whether the client negotiated SSL. */
  readonly tls: boolean;
  /** Set when the client broke the protocol; the FATAL has been sent and messages() has ended. */
  protocolError: PgError | undefined;

  private readonly stream: net.Socket;
  private readonly parser = new FrontendParser();
  private readonly logger: WireOptions['logger'];
  private output: Buffer[] = [];
  private outputBytes = 0;
  private inbox: FrontendMessage[] = [];
  private inboxHead = 0;
  private wakeReader: (() => void) | undefined;
  /** No more input will be decoded (Terminate, EOF, error or close()). */
  private inputEnded = false;
  private closed = false;
  private paused = false;

  constructor(result: StartupResult, remoteAddress: string, options: Pick<WireOptions, 'logger'> = {}) {
    this.stream = result.stream;
    this.startupParameters = result.startupParameters;
    this.processId = result.processId;
    this.secretKey = result.secretKey;
    this.tls = result.tls;
    this.remoteAddress = remoteAddress;
    this.logger = options.logger;

    const stream = this.stream;
    stream.on('data', (chunk: Buffer) => this.receive(chunk));
    stream.on('end', () => this.endInput());
    stream.on('close', () => {
      this.closed = true;
      this.endInput();
    });
    // ECONNRESET and friends just end the session; there is nobody left to report them to.
    stream.on('error', (err) => {
      this.logger?.debug({ err: err.message }, 'client socket error');
      this.endInput();
    });
    if (result.rest.length > 0) this.receive(result.rest);
    if (result.inputEnded || stream.destroyed) {
      this.closed ||= stream.destroyed;
      this.endInput();
    }
    if (!this.paused) stream.resume();
  }

  /** Queue bytes; they are written together on flush() (one write per round trip). */
  send(message: Buffer): void {
    if (this.closed) return;
    this.output.push(message);
    this.outputBytes += message.length;
    if (this.outputBytes >= AUTO_FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.output.length === 0) return;
    const data = this.output.length === 1 ? this.output[0]! : Buffer.concat(this.output, this.outputBytes);
    this.output = [];
    this.outputBytes = 0;
    if (!this.closed && !this.stream.destroyed && this.stream.writable) this.stream.write(data);
  }

  /** Decoded frontend messages in order; yields Terminate if sent, then ends (also on disconnect). */
  async *messages(): AsyncGenerator<FrontendMessage, void, undefined> {
    for (;;) {
      if (this.inboxHead < this.inbox.length) {
        const message = this.inbox[this.inboxHead++]!;
        if (this.inboxHead === this.inbox.length) {
          this.inbox = [];
          this.inboxHead = 0;
        }
        if (this.paused && this.inbox.length - this.inboxHead < INBOX_HIGH_WATER / 2) {
          this.paused = false;
          this.stream.resume();
        }
        yield message;
        continue;
      }
      if (this.inputEnded) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  /** Whether the socket can take more (for backpressure when streaming large results); resolves on 'drain'. */
  drained(): Promise<void> {
    const stream = this.stream;
    if (this.closed || stream.destroyed || !stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
    });
  }

  /** Writes what is queued, then closes. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.endInput();
    this.stream.end();
    setTimeout(() => this.stream.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  /** Whether close() was called or the socket is gone. */
  get isClosed(): boolean {
    return this.closed;
  }

  private receive(chunk: Buffer): void {
    if (this.inputEnded) return;
    let messages: FrontendMessage[];
    try {
      messages = this.parser.feed(chunk);
    } catch (err) {
      this.protocolFailure(err as PgError);
      return;
    }
    for (const message of messages) {
      this.inbox.push(message);
      // Nothing after Terminate is meaningful; the session sees Terminate and then the end.
      if (message.type === 'Terminate') {
        this.endInput();
        break;
      }
    }
    if (!this.paused && !this.inputEnded && this.inbox.length - this.inboxHead >= INBOX_HIGH_WATER) {
      this.paused = true;
      this.stream.pause();
    }
    this.wake();
  }

  private protocolFailure(err: PgError): void {
    this.protocolError = err;
    this.logger?.debug({ code: err.code, message: err.message }, 'protocol violation');
    // Messages decoded before the bad one but not yet handled are dropped: the session must not act on a broken
    // stream. Output already queued answers messages it did handle, so it goes out ahead of the FATAL.
    this.inbox = [];
    this.inboxHead = 0;
    this.send(backend.errorResponse({ ...backend.errorFieldsOf(err), severity: 'FATAL' }));
    this.close();
  }

  private endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}
