import { PgError, SqlState } from '../errors.js';

/**
 * Reads the body of one message. Every read is bounds-checked and throws 08P01 on overrun, because the bytes
 * come from an untrusted client (or engine) and a short message must not read into the next one.
 */
export class Reader {
  offset: number;

  constructor(
    private readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
    /** Turns a string's bytes into text (the client encoding's conversion); UTF-8 by default. */
    private readonly text?: (bytes: Buffer) => string,
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(size: number): void {
    if (size < 0 || this.offset + size > this.end) throw invalidMessage('message is truncated');
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }

  char(): string {
    return String.fromCharCode(this.byte());
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** Type OIDs are unsigned; reading them signed would turn large OIDs negative. */
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  cstring(): string {
    const nul = this.buffer.indexOf(0, this.offset);
    if (nul < 0 || nul >= this.end) throw invalidMessage('invalid string in message');
    const value = this.text
      ? this.text(this.buffer.subarray(this.offset, nul))
      : this.buffer.toString('utf8', this.offset, nul);
    this.offset = nul + 1;
    return value;
  }

  /** A view, not a copy: callers that keep it beyond the chunk's lifetime are fine, Buffers are not reused. */
  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** An int32 length (-1 = NULL) and that many bytes. */
  lengthPrefixed(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    if (length < -1) throw invalidMessage('invalid length in message');
    return this.bytes(length);
  }

  /** postgres.c rejects trailing bytes ("invalid message format") so a mis-framed message is not half-trusted. */
  done(): void {
    if (this.offset !== this.end) throw invalidMessage('invalid message format');
  }
}

export function invalidMessage(message: string): PgError {
  return new PgError(SqlState.protocol_violation, message, { severity: 'FATAL' });
}
