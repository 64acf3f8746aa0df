import { PgError, SqlState } from '../errors.js';
import { Reader, invalidMessage } from './buffer-reader.js';
import type { ClientCodec } from './encoding.js';
import { FrontendCode, type FrontendMessage } from './messages.js';

/** pqcomm.h limits: the bulk-carrying messages may be up to 1 GB, everything else is small. */
export const PQ_LARGE_MESSAGE_LIMIT = 0x3fffffff;
export const PQ_SMALL_MESSAGE_LIMIT = 10000;

const LARGE_MESSAGES: ReadonlySet<string> = new Set([
  FrontendCode.Query,
  FrontendCode.Parse,
  FrontendCode.Bind,
  FrontendCode.FunctionCall,
  FrontendCode.CopyData,
  FrontendCode.Password,
]);

export interface FrontendParserOptions {
  /** Upper bound for Query, Parse, Bind, CopyData...; lower it to cap per-connection memory. */
  maxMessageLength?: number;
}

/** One framed message, not yet decoded: the body is buf[start, end). */
export interface RawFrame {
  code: string;
  buf: Buffer;
  start: number;
  end: number;
}

/**
 * Client-encoding conversion while decoding: text fields and text-format Bind parameters go through the codec.
 * The first conversion error is kept (not thrown), so the message's framing is still checked in full and the
 * session can answer the error as PostgreSQL does (22021 / 22P05, an ERROR, not a protocol violation).
 */
export class Transcoding {
  error: PgError | undefined;
  constructor(readonly codec: ClientCodec) {}
  text = (bytes: Buffer): string => {
    try {
      return this.codec.decode(bytes);
    } catch (err) {
      this.error ??= err as PgError;
      return bytes.toString('latin1');
    }
  };
  bytes(bytes: Buffer): Buffer {
    try {
      return this.codec.toUtf8(bytes);
    } catch (err) {
      this.error ??= err as PgError;
      return bytes;
    }
  }
}

/**
 * Incremental decoder of typed frontend messages (everything after the StartupMessage). Chunks are kept as
 * received and only concatenated once a whole message is available, so a large Bind or CopyData arriving in
 * many TCP segments is copied once, and decoded Buffers (parameters, CopyData) are views that stay valid
 * because no chunk is ever written to after it is fed.
 */
export class FrontendParser {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Bytes needed before parsing is worth trying: a header, or the whole message once its length is known. */
  private needed = 5;
  private readonly maxLength: number;
  private failed = false;

  constructor(options: FrontendParserOptions = {}) {
    this.maxLength = options.maxMessageLength ?? PQ_LARGE_MESSAGE_LIMIT;
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.pendingLength;
  }

  /**
   * Decodes every complete message in what has been fed so far. Throws a FATAL 08P01 PgError on a framing or
   * format error; the stream cannot be resynchronised after that, so later calls throw too.
   */
  feed(chunk: Buffer): FrontendMessage[] {
    const frames = this.feedFrames(chunk);
    try {
      return frames.map((f) => decode(f.code, f.buf, f.start, f.end));
    } catch (err) {
      this.fail();
      throw err;
    }
  }

  /** After a malformed message the stream cannot be trusted: every later feed throws. */
  fail(): void {
    this.failed = true;
    this.pending = [];
    this.pendingLength = 0;
  }

  /** As feed(), but leaves the bodies undecoded (the connection decodes each in the client encoding). */
  feedFrames(chunk: Buffer): RawFrame[] {
    if (this.failed) throw invalidMessage('protocol stream already failed');
    if (chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    if (this.pendingLength < this.needed) return [];

    const buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingLength);
    const messages: RawFrame[] = [];
    let offset = 0;
    this.needed = 5;
    try {
      while (buf.length - offset >= 5) {
        const code = String.fromCharCode(buf[offset]!);
        const length = buf.readUInt32BE(offset + 1);
        const limit = LARGE_MESSAGES.has(code) ? this.maxLength : PQ_SMALL_MESSAGE_LIMIT;
        if (
          length < 4 ||
          length > PQ_LARGE_MESSAGE_LIMIT ||
          (length > PQ_SMALL_MESSAGE_LIMIT && !LARGE_MESSAGES.has(code))
        )
          throw invalidMessage(`invalid message length ${length}`);
        if (length > limit) throw messageTooLarge(code, length, limit);
        const end = offset + 1 + length;
        if (end > buf.length) {
          this.needed = 1 + length;
          break;
        }
        messages.push({ code, buf, start: offset + 5, end });
        offset = end;
      }
    } catch (err) {
      this.failed = true;
      this.pending = [];
      this.pendingLength = 0;
      throw err;
    }
    const rest = buf.length - offset;
    this.pending = rest > 0 ? [buf.subarray(offset)] : [];
    this.pendingLength = rest;
    return messages;
  }
}

/** A message longer than the configured limit (--max-message-size): refused before its body is read. */
function messageTooLarge(code: string, length: number, limit: number): PgError {
  return new PgError(
    SqlState.program_limit_exceeded,
    `message of type "${code}" is ${length} bytes, more than this server's limit of ${limit} bytes`,
    {
      severity: 'FATAL',
      hint: "Send smaller statements or parameters (COPY data in several CopyData messages), or raise the server's --max-message-size.",
    },
  );
}

/** Decodes the body [start, end) of one message, as postgres.c's PostgresMain switch does. */
export function decode(
  code: string,
  buf: Buffer,
  start: number,
  end: number,
  transcoding?: Transcoding,
): FrontendMessage {
  const r = new Reader(buf, start, end, transcoding?.text);
  let message: FrontendMessage;
  switch (code) {
    case FrontendCode.Query:
      message = { type: 'Query', sql: r.cstring() };
      break;
    case FrontendCode.Parse: {
      const statement = r.cstring();
      const sql = r.cstring();
      const paramTypes: number[] = [];
      for (let n = r.uint16(); n > 0; n--) paramTypes.push(r.uint32());
      message = { type: 'Parse', statement, sql, paramTypes };
      break;
    }
    case FrontendCode.Bind: {
      const portal = r.cstring();
      const statement = r.cstring();
      const paramFormats: number[] = [];
      for (let n = r.uint16(); n > 0; n--) paramFormats.push(r.int16());
      const params: (Buffer | null)[] = [];
      for (let n = r.uint16(); n > 0; n--) params.push(r.lengthPrefixed());
      const resultFormats: number[] = [];
      for (let n = r.uint16(); n > 0; n--) resultFormats.push(r.int16());
      // Text-format parameters are text in the client encoding, as pq_getmsgtext converts them.
      if (transcoding)
        for (let i = 0; i < params.length; i++) {
          const format = paramFormats.length === 1 ? paramFormats[0] : (paramFormats[i] ?? 0);
          const p = params[i];
          if (p && format === 0) params[i] = transcoding.bytes(p);
        }
      message = { type: 'Bind', portal, statement, paramFormats, params, resultFormats };
      break;
    }
    case FrontendCode.Describe:
    case FrontendCode.Close: {
      const target = r.char();
      if (target !== 'S' && target !== 'P') {
        const what = code === FrontendCode.Describe ? 'DESCRIBE' : 'CLOSE';
        throw invalidMessage(`invalid ${what} message subtype ${target.charCodeAt(0)}`);
      }
      message = { type: code === FrontendCode.Describe ? 'Describe' : 'Close', target, name: r.cstring() };
      break;
    }
    case FrontendCode.Execute:
      message = { type: 'Execute', portal: r.cstring(), maxRows: r.int32() };
      break;
    case FrontendCode.Sync:
      message = { type: 'Sync' };
      break;
    case FrontendCode.Flush:
      message = { type: 'Flush' };
      break;
    case FrontendCode.Terminate:
      message = { type: 'Terminate' };
      break;
    case FrontendCode.CopyData:
      message = { type: 'CopyData', data: r.rest() };
      break;
    case FrontendCode.CopyDone:
      message = { type: 'CopyDone' };
      break;
    case FrontendCode.CopyFail:
      message = { type: 'CopyFail', message: r.cstring() };
      break;
    case FrontendCode.FunctionCall:
      r.rest();
      message = { type: 'FunctionCall' };
      break;
    default:
      // Includes 'p' outside authentication: the session answers with a FATAL, as postgres.c does.
      r.rest();
      message = { type: 'Unknown', code };
  }
  r.done();
  return message;
}
