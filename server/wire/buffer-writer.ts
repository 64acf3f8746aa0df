/**
 * Builds one protocol message at a time. Space for the type byte and int32 length is reserved up front so a
 * message is assembled in a single buffer and its length patched in at the end, without a second copy.
 */
export class Writer {
  private buffer: Buffer;
  private offset = 5;

  constructor(private readonly initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  private ensure(size: number): void {
    if (this.buffer.length - this.offset >= size) return;
    const old = this.buffer;
    // ~1.5x growth keeps reallocations logarithmic for large DataRows and Bind parameters.
    this.buffer = Buffer.allocUnsafe(old.length + (old.length >> 1) + size);
    old.copy(this.buffer, 0, 0, this.offset);
  }

  byte(value: number): this {
    this.ensure(1);
    this.buffer[this.offset++] = value & 0xff;
    return this;
  }

  int16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16BE(value & 0xffff, this.offset);
    this.offset += 2;
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32BE(value >>> 0, this.offset);
    this.offset += 4;
    return this;
  }

  /** A NUL-terminated string; the protocol has no way to carry an embedded NUL, so the caller must not pass one. */
  cstring(value: string): this {
    const length = Buffer.byteLength(value);
    this.ensure(length + 1);
    this.buffer.write(value, this.offset, 'utf8');
    this.offset += length;
    this.buffer[this.offset++] = 0;
    return this;
  }

  /** UTF-8 bytes with no terminator or length. */
  string(value: string): this {
    const length = Buffer.byteLength(value);
    this.ensure(length);
    this.buffer.write(value, this.offset, 'utf8');
    this.offset += length;
    return this;
  }

  bytes(value: Buffer): this {
    this.ensure(value.length);
    value.copy(this.buffer, this.offset);
    this.offset += value.length;
    return this;
  }

  /** An int32 length (-1 for NULL) followed by the value, as in DataRow, Bind and SASLInitialResponse. */
  lengthPrefixed(value: Buffer | string | null): this {
    if (value === null) return this.int32(-1);
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value);
      this.int32(length);
      this.ensure(length);
      this.buffer.write(value, this.offset, 'utf8');
      this.offset += length;
      return this;
    }
    return this.int32(value.length).bytes(value);
  }

  /** Finishes a typed message: `code` byte, then int32 length counting itself but not the code. */
  message(code: string): Buffer {
    this.buffer[0] = code.charCodeAt(0);
    this.buffer.writeUInt32BE(this.offset - 1, 1);
    return this.take(0);
  }

  /** Finishes an untyped startup-phase packet (StartupMessage, SSLRequest, CancelRequest): length only. */
  packet(): Buffer {
    this.buffer.writeUInt32BE(this.offset - 1, 1);
    return this.take(1);
  }

  private take(start: number): Buffer {
    const result = this.buffer.subarray(start, this.offset);
    this.buffer = Buffer.allocUnsafe(this.initialSize);
    this.offset = 5;
    return result;
  }
}

/** A message that is only its type byte and length. */
export function emptyMessage(code: string): Buffer {
  const buffer = Buffer.allocUnsafe(5);
  buffer[0] = code.charCodeAt(0);
  buffer.writeUInt32BE(4, 1);
  return buffer;
}
