import type net from 'node:net';
import type { PgError } from '../errors.js';
import * as backend from './backend-serializer.js';
import { clientCodec, type ClientCodec } from './encoding.js';
import { decode, FrontendParser, Transcoding, type RawFrame } from './frontend-parser.js';
import { FrontendCode, type FrontendMessage } from './messages.js';
import { runStartup, type StartupResult, type WireOptions } from './startup.js';
import { OutputTranscoder } from './transcode.js';

export type { AuthMethod, WireLogger, WireOptions } from './startup.js';

/** Stop reading from the socket while this many decoded messages wait for the session. */
const INBOX_HIGH_WATER = 1024;
/** Queued output beyond this is written without waiting for flush(), to bound memory on large results. */
const AUTO_FLUSH_BYTES = 256 * 1024;
/** Output batches up to this size are copied into one buffer and written at once (see flush()). */
const CONCAT_BYTES = 64 * 1024;
/** How long close() waits for the peer to take the last bytes before destroying the socket. */
const CLOSE_TIMEOUT_MS = 10_000;
/**
 * Back-pressure: while more than this is waiting in the socket for a client that does not read, the connection
 * hands the session no further message (so no further result is produced) until the socket drains.
 */
export const OUTPUT_HIGH_WATER = 1024 * 1024;

/** A decoded message, with its frame kept in case the client encoding changes before the session takes it. */
interface InboxEntry {
  frame: RawFrame;
  codec: ClientCodec;
  message: FrontendMessage;
}

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
    return result && new Connection(result, remoteAddress, options, options.maxMessageBytes);
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
  private readonly parser: FrontendParser;
  private readonly logger: WireOptions['logger'];
  private output: Buffer[] = [];
  private outputBytes = 0;
  private inbox: InboxEntry[] = [];
  private inboxHead = 0;
  private wakeReader: (() => void) | undefined;
  /** No more input will be decoded (Terminate, EOF, error or close()). */
  private inputEnded = false;
  private closed = false;
  private paused = false;
  /** The session's client_encoding; the startup value until the session says where to read it. */
  private encoding: () => string | undefined;
  /** The client_encoding last reported with ParameterStatus. */
  private reportedEncoding: string;
  private readonly transcoder = new OutputTranscoder();
  /** COPY FROM STDIN in text format under way: its CopyData is converted as a stream. */
  private copyIn: ((chunk: Buffer, last: boolean) => Buffer) | undefined;
  /** Times the session waited for a client that was not reading its results (back-pressure). */
  backPressureWaits = 0;

  constructor(
    result: StartupResult,
    remoteAddress: string,
    options: Pick<WireOptions, 'logger'> = {},
    maxMessageBytes?: number,
  ) {
    this.parser = new FrontendParser({ maxMessageLength: maxMessageBytes });
    const startupEncoding = result.startupParameters.client_encoding;
    this.encoding = () => startupEncoding;
    this.reportedEncoding = clientCodec(startupEncoding).name;
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

  /**
   * Where the session keeps client_encoding (a canonical name from clientEncodingName, or undefined for UTF8).
   * Text in and out is converted with it from then on, and a change is reported with ParameterStatus.
   */
  useClientEncoding(current: () => string | undefined): void {
    this.encoding = current;
  }

  /** The formats of DataRows sent without their RowDescription (Execute of a described portal). */
  rowFormats(description: Buffer | null): void {
    this.transcoder.rowFormats(description);
  }

  /**
   * Queue bytes; they are written together on flush() (one write per round trip). Text is converted to the
   * client encoding: throws 22P05 (nothing queued) for a row or name with a character the client cannot take.
   */
  send(message: Buffer): void {
    if (this.closed) return;
    const codec = this.codec();
    if (codec.name !== this.reportedEncoding) {
      this.reportedEncoding = codec.name;
      this.queue(backend.parameterStatus('client_encoding', codec.name));
    }
    const frame = this.transcoder.frame(message, codec);
    if (frame[0] === 0x47 /* CopyInResponse */)
      this.copyIn = frame[5] === 0 && !codec.passthrough ? codec.streamToUtf8() : undefined;
    this.queue(frame);
  }

  private queue(frame: Buffer): void {
    this.output.push(frame);
    this.outputBytes += frame.length;
    if (this.outputBytes >= AUTO_FLUSH_BYTES) this.flush();
  }

  private codec(): ClientCodec {
    return clientCodec(this.encoding());
  }

  flush(): void {
    if (this.output.length === 0) return;
    const chunks = this.output;
    const bytes = this.outputBytes;
    this.output = [];
    this.outputBytes = 0;
    const stream = this.stream;
    if (this.closed || stream.destroyed || !stream.writable) return;
    // One write a result. A small batch (a statement's few messages) is copied into one buffer: a single write
    // costs less than a writev of many small chunks; a large one goes as one writev without that copy.
    if (chunks.length === 1) stream.write(chunks[0]!);
    else if (bytes <= CONCAT_BYTES) stream.write(Buffer.concat(chunks, bytes));
    else {
      stream.cork();
      for (const chunk of chunks) stream.write(chunk);
      stream.uncork();
    }
  }

  /** Bytes written but not yet taken by the client's socket, plus those queued for the next flush. */
  get bufferedBytes(): number {
    return this.stream.writableLength + this.outputBytes;
  }

  /**
   * The next message when one is decoded already and the client is reading its results; else undefined, and
   * messages() is where to wait. A driver's pipelined messages (Parse, Bind, Describe, Execute, Sync in one
   * packet) are so taken without a promise, a generator step and an abort listener each. Shares messages()'s
   * queue: whichever is asked takes the next one.
   */
  takeReady(): FrontendMessage | undefined {
    if (this.inboxHead >= this.inbox.length || this.stream.writableLength > OUTPUT_HIGH_WATER)
      return undefined;
    return this.take();
  }

  private take(): FrontendMessage {
    const entry = this.inbox[this.inboxHead++]!;
    if (this.inboxHead === this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
    }
    if (this.paused && this.inbox.length - this.inboxHead < INBOX_HIGH_WATER / 2) {
      this.paused = false;
      this.stream.resume();
    }
    return this.convert(entry);
  }

  /** Decoded frontend messages in order; yields Terminate if sent, then ends (also on disconnect). */
  async *messages(): AsyncGenerator<FrontendMessage, void, undefined> {
    for (;;) {
      if (this.inboxHead < this.inbox.length) {
        // Back-pressure: a client that does not read its results gets no new one produced until it does.
        if (this.stream.writableLength > OUTPUT_HIGH_WATER) {
          this.flush();
          this.backPressureWaits++;
          this.logger?.debug(
            { session: this.processId, buffered: this.bufferedBytes },
            'client is not reading its results: waiting for the socket to drain',
          );
          await this.drained();
          continue;
        }
        yield this.take();
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

  /** Decodes a frame in the client encoding; a conversion error becomes an Undecodable message. */
  private decode(frame: RawFrame, codec: ClientCodec): FrontendMessage {
    const transcoding = new Transcoding(codec);
    const message = decode(frame.code, frame.buf, frame.start, frame.end, transcoding);
    return transcoding.error ? { type: 'Undecodable', code: frame.code, error: transcoding.error } : message;
  }

  /** The message as the session must see it: in the client encoding current now, COPY data converted. */
  private convert(entry: InboxEntry): FrontendMessage {
    const codec = this.codec();
    const message = entry.codec === codec ? entry.message : this.decode(entry.frame, codec);
    const copyIn = this.copyIn;
    if (!copyIn) return message;
    try {
      switch (message.type) {
        case 'CopyData':
          return { type: 'CopyData', data: copyIn(message.data, false) };
        case 'CopyDone':
          this.copyIn = undefined;
          copyIn(Buffer.alloc(0), true);
          return message;
        case 'Flush':
        case 'Sync':
          return message;
        default:
          this.copyIn = undefined;
          return message;
      }
    } catch (err) {
      this.copyIn = undefined;
      return { type: 'Undecodable', code: FrontendCode.CopyData, error: err as PgError };
    }
  }

  private receive(chunk: Buffer): void {
    if (this.inputEnded) return;
    let messages: InboxEntry[];
    try {
      const codec = this.codec();
      messages = this.parser.feedFrames(chunk).map((frame) => ({
        frame,
        codec,
        message: this.decode(frame, codec),
      }));
    } catch (err) {
      this.protocolFailure(err as PgError);
      return;
    }
    for (const entry of messages) {
      const message = entry.message;
      this.inbox.push(entry);
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
