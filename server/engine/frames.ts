import type { ErrorFields } from './messages.js';

/** Just enough of the wire protocol for the engine to drive its own statements and read the replies. */

interface Frame {
  type: number;
  body: Uint8Array;
}

function* frames(bytes: Uint8Array): Generator<Frame> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 5 <= bytes.length;) {
    const length = view.getUint32(at + 1);
    yield { type: bytes[at], body: bytes.subarray(at + 5, at + 1 + length) };
    at += 1 + length;
  }
}

/** The status byte of the closing ReadyForQuery ('I', 'T', 'E'); undefined if the reply does not end with one. */
export function lastReadyStatus(bytes: Uint8Array): string | undefined {
  let last: Frame | undefined;
  for (const f of frames(bytes)) last = f;
  return last?.type === 0x5a ? String.fromCharCode(last.body[0]) : undefined;
}

/** The fields of the first ErrorResponse, if the reply has one. */
export function firstError(bytes: Uint8Array): ErrorFields | undefined {
  for (const f of frames(bytes)) {
    if (f.type !== 0x45) continue;
    const fields = new Map<string, string>();
    for (let at = 0; at < f.body.length && f.body[at] !== 0;) {
      const end = f.body.indexOf(0, at + 1);
      fields.set(String.fromCharCode(f.body[at]), decoder.decode(f.body.subarray(at + 1, end)));
      at = end + 1;
    }
    const position = fields.get('P');
    return {
      code: fields.get('C') ?? 'XX000',
      message: fields.get('M') ?? 'unknown error',
      detail: fields.get('D'),
      hint: fields.get('H'),
      position: position === undefined ? undefined : Number(position),
    };
  }
  return undefined;
}

/** The first column of the first DataRow, as text. */
export function firstValue(bytes: Uint8Array): string | undefined {
  for (const f of frames(bytes)) {
    if (f.type !== 0x44) continue;
    const view = new DataView(f.body.buffer, f.body.byteOffset, f.body.byteLength);
    const length = view.getInt32(2);
    return length < 0 ? undefined : decoder.decode(f.body.subarray(6, 6 + length));
  }
  return undefined;
}

/**
 * Frontend messages that leave no named object in the backend: simple Queries, and Parse/Bind of the unnamed
 * statement and portal with Describe, Execute, Close, Flush and Sync. Anything else (a named prepared statement or
 * portal, COPY data, a function call) does not qualify.
 */
export function namesNothing(bytes: Uint8Array): boolean {
  for (const f of frames(bytes)) {
    switch (f.type) {
      case 0x51: // Query
      case 0x44: // Describe
      case 0x45: // Execute
      case 0x43: // Close
      case 0x48: // Flush
      case 0x53: // Sync
        continue;
      case 0x50: // Parse: the statement's name first
        if (f.body[0] !== 0) return false;
        continue;
      case 0x42: // Bind: the portal's name, then the statement's
        if (f.body[0] !== 0 || f.body[1] !== 0) return false;
        continue;
      default:
        return false;
    }
  }
  return true;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function message(type: string, ...parts: (Uint8Array | number[])[]): Uint8Array {
  const length = 4 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(1 + length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setUint32(1, length);
  let at = 5;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const cstring = (s: string) => encoder.encode(`${s}\0`);
const int16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const int32 = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

export function simpleQuery(sql: string): Uint8Array {
  return message('Q', cstring(sql));
}

/**
 * Parse, Bind (text parameters) and Execute of each statement, unnamed, then one Sync: one trip into the backend.
 * The first error skips the rest, up to the Sync.
 */
export function extendedBatch(statements: { sql: string; params: string[] }[]): Uint8Array {
  return concat([
    ...statements.flatMap(({ sql, params }) => [
      frameMessage.parse('', sql, []),
      frameMessage.bind('', params),
      frameMessage.execute,
    ]),
    syncMessage,
  ]);
}

export const syncMessage = message('S');

/** The frontend messages of a named prepared statement's life (reused-plans.ts); parameters and results in text. */
export const frameMessage = {
  parse: (name: string, sql: string, types: number[]) =>
    message('P', cstring(name), cstring(sql), int16(types.length), ...types.map(int32)),
  describeStatement: (name: string) => message('D', [0x53], cstring(name)),
  bind: (name: string, values: string[]) =>
    message(
      'B',
      cstring(''),
      cstring(name),
      int16(0),
      int16(values.length),
      ...values.flatMap((v) => {
        const bytes = encoder.encode(v);
        return [int32(bytes.length), bytes];
      }),
      int16(0),
    ),
  describePortal: message('D', [0x50], cstring('')),
  execute: message('E', cstring(''), int32(0)),
  close: (name: string) => message('C', [0x53], cstring(name)),
  sync: syncMessage,
};

/** The type oids of the first ParameterDescription, if the reply has one. */
export function parameterTypes(bytes: Uint8Array): number[] | undefined {
  for (const f of frames(bytes)) {
    if (f.type !== 0x74) continue;
    const view = new DataView(f.body.buffer, f.body.byteOffset, f.body.byteLength);
    return Array.from({ length: view.getUint16(0) }, (_, i) => view.getUint32(2 + 4 * i));
  }
  return undefined;
}

/** The reply without the frames of the given types. */
export function withoutFrames(bytes: Uint8Array, types: number[]): Uint8Array {
  const kept: Uint8Array[] = [];
  let dropped = false;
  for (const f of frames(bytes)) {
    if (types.includes(f.type)) dropped = true;
    else
      kept.push(
        bytes.subarray(
          f.body.byteOffset - bytes.byteOffset - 5,
          f.body.byteOffset - bytes.byteOffset + f.body.length,
        ),
      );
  }
  return dropped ? concat(kept) : bytes;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
