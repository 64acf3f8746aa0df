import { PgError, SqlState } from '../errors.js';
import { Reader } from './buffer-reader.js';
import {
  AuthRequest,
  ErrorFieldCode,
  type ErrorFields,
  type FieldDescription,
  type Severity,
} from './messages.js';

/**
 * Decoding of backend messages produced by the embedded engine. Frames are split without decoding so that
 * DataRow and RowDescription can be forwarded to the client byte for byte, binary values included.
 */

export interface BackendFrame {
  /** The type byte as a character, e.g. 'D'. */
  code: string;
  /** The body after the type byte and length. */
  payload: Buffer;
  /** The whole message including its header, for forwarding as is. */
  raw: Buffer;
}

/** Splits a buffer of complete backend messages. A truncated trailing message means the engine misbehaved. */
export function splitBackendMessages(buf: Buffer): BackendFrame[] {
  const frames: BackendFrame[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < 5) throw engineError('truncated backend message header');
    const length = buf.readUInt32BE(offset + 1);
    const end = offset + 1 + length;
    if (length < 4 || end > buf.length) throw engineError(`invalid backend message length ${length}`);
    frames.push({
      code: String.fromCharCode(buf[offset]!),
      payload: buf.subarray(offset + 5, end),
      raw: buf.subarray(offset, end),
    });
    offset = end;
  }
  return frames;
}

function engineError(message: string): PgError {
  return new PgError(SqlState.internal_error, message);
}

const FIELD_BY_CODE = new Map<string, keyof ErrorFields>(
  Object.entries(ErrorFieldCode).map(([key, code]) => [code, key as keyof ErrorFields]),
);

/** ErrorResponse / NoticeResponse body. The non-localized severity 'V' wins over 'S' when both are present. */
export function parseErrorFields(payload: Buffer): ErrorFields {
  const reader = new Reader(payload);
  const fields: Partial<Record<keyof ErrorFields, string | number>> = {};
  let severityV: string | undefined;
  for (;;) {
    const code = reader.byte();
    if (code === 0) break;
    const value = reader.cstring();
    const c = String.fromCharCode(code);
    if (c === 'V') {
      severityV = value;
      continue;
    }
    const key = FIELD_BY_CODE.get(c);
    // Unknown field types must be ignored, per the protocol, since new ones may be added.
    if (!key) continue;
    if (key === 'position' || key === 'internalPosition') {
      const n = Number(value);
      if (Number.isInteger(n)) fields[key] = n;
    } else {
      fields[key] = value;
    }
  }
  const severity = (severityV ?? (fields.severity as string | undefined) ?? 'ERROR') as Severity;
  return {
    ...(fields as Omit<ErrorFields, 'severity' | 'code' | 'message'>),
    severity,
    code: (fields.code as string | undefined) ?? SqlState.internal_error,
    message: (fields.message as string | undefined) ?? '',
  };
}

export function parseRowDescription(payload: Buffer): FieldDescription[] {
  const reader = new Reader(payload);
  const count = reader.uint16();
  const fields: FieldDescription[] = [];
  for (let i = 0; i < count; i++) {
    fields.push({
      name: reader.cstring(),
      tableOid: reader.uint32(),
      columnAttr: reader.int16(),
      typeOid: reader.uint32(),
      typeSize: reader.int16(),
      typeModifier: reader.int32(),
      format: reader.int16(),
    });
  }
  return fields;
}

export function parseCommandComplete(payload: Buffer): string {
  return new Reader(payload).cstring();
}

export function parseParameterDescription(payload: Buffer): number[] {
  const reader = new Reader(payload);
  const count = reader.uint16();
  const oids: number[] = [];
  for (let i = 0; i < count; i++) oids.push(reader.uint32());
  return oids;
}

export function parseParameterStatus(payload: Buffer): [name: string, value: string] {
  const reader = new Reader(payload);
  return [reader.cstring(), reader.cstring()];
}

/** Values are views into the payload, in whatever format (text or binary) the portal produced them. */
export function parseDataRow(payload: Buffer): (Buffer | null)[] {
  const reader = new Reader(payload);
  const count = reader.uint16();
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < count; i++) values.push(reader.lengthPrefixed());
  return values;
}

export function parseReadyForQuery(payload: Buffer): 'I' | 'T' | 'E' {
  return new Reader(payload).char() as 'I' | 'T' | 'E';
}

export function parseBackendKeyData(payload: Buffer): { processId: number; secretKey: number } {
  const reader = new Reader(payload);
  return { processId: reader.int32(), secretKey: reader.int32() };
}

/** NotificationResponse ('A'). */
export function parseNotificationResponse(payload: Buffer): {
  processId: number;
  channel: string;
  payload: string;
} {
  const reader = new Reader(payload);
  return { processId: reader.int32(), channel: reader.cstring(), payload: reader.cstring() };
}

/** CopyInResponse / CopyOutResponse / CopyBothResponse. */
export function parseCopyResponse(payload: Buffer): { format: number; columnFormats: number[] } {
  const reader = new Reader(payload);
  const format = reader.byte();
  const count = reader.uint16();
  const columnFormats: number[] = [];
  for (let i = 0; i < count; i++) columnFormats.push(reader.int16());
  return { format, columnFormats };
}

export type AuthenticationMessage =
  | { request: 'Ok' }
  | { request: 'CleartextPassword' }
  | { request: 'MD5Password'; salt: Buffer }
  | { request: 'SASL'; mechanisms: string[] }
  | { request: 'SASLContinue'; data: Buffer }
  | { request: 'SASLFinal'; data: Buffer }
  | { request: 'Other'; code: number };

/** Authentication ('R'), for tests and for talking to an engine that asks to authenticate. */
export function parseAuthentication(payload: Buffer): AuthenticationMessage {
  const reader = new Reader(payload);
  const code = reader.int32();
  switch (code) {
    case AuthRequest.Ok:
      return { request: 'Ok' };
    case AuthRequest.CleartextPassword:
      return { request: 'CleartextPassword' };
    case AuthRequest.MD5Password:
      return { request: 'MD5Password', salt: reader.bytes(4) };
    case AuthRequest.SASL: {
      const mechanisms: string[] = [];
      for (let m = reader.cstring(); m !== ''; m = reader.cstring()) mechanisms.push(m);
      return { request: 'SASL', mechanisms };
    }
    case AuthRequest.SASLContinue:
      return { request: 'SASLContinue', data: reader.rest() };
    case AuthRequest.SASLFinal:
      return { request: 'SASLFinal', data: reader.rest() };
    default:
      return { request: 'Other', code };
  }
}

/** NegotiateProtocolVersion ('v'). */
export function parseNegotiateProtocolVersion(payload: Buffer): {
  newestMinor: number;
  unrecognizedOptions: string[];
} {
  const reader = new Reader(payload);
  const newestMinor = reader.int32();
  const count = reader.int32();
  const unrecognizedOptions: string[] = [];
  for (let i = 0; i < count; i++) unrecognizedOptions.push(reader.cstring());
  return { newestMinor, unrecognizedOptions };
}
