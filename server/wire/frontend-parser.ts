import { Reader, invalidMessage } from './buffer-reader.js';
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
    if (this.failed) throw invalidMessage('protocol stream already failed');
    if (chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    if (this.pendingLength < this.needed) return [];

    const buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingLength);
    const messages: FrontendMessage[] = [];
    let offset = 0;
    this.needed = 5;
    try {
      while (buf.length - offset >= 5) {
        const code = String.fromCharCode(buf[offset]!);
        const length = buf.readUInt32BE(offset + 1);
        const limit = LARGE_MESSAGES.has(code) ? this.maxLength : PQ_SMALL_MESSAGE_LIMIT;
        if (length < 4 || length > limit) throw invalidMessage(`invalid message length ${length}`);
        const end = offset + 1 + length;
        if (end > buf.length) {
          this.needed = 1 + length;
          break;
        }
        messages.push(decode(code, buf, offset + 5, end));
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

/** Decodes the body [start, end) of one message, as postgres.c's PostgresMain switch does. */
export function decode(code: string, buf: Buffer, start: number, end: number): FrontendMessage {
  const r = new Reader(buf, start, end);
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
