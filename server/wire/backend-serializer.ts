import { PgError, SqlState } from '../errors.js';
import { emptyMessage, Writer } from './buffer-writer.js';
import {
  AuthRequest,
  BackendCode,
  ErrorFieldCode,
  type ErrorFields,
  type FieldDescription,
  type Severity,
  type TransactionStatus,
} from './messages.js';

/** Every backend message the server sends, as ready-to-write Buffers (protocol "Message Formats"). */

// A fresh Writer per message: a shared one would be left half-written if a bad argument threw mid-message,
// corrupting the next message on the wire. Small allocations come from Buffer's pool, so this is cheap.
const w = (): Writer => new Writer();

function authentication(request: number, data?: Buffer): Buffer {
  const writer = w().int32(request);
  if (data) writer.bytes(data);
  return writer.message(BackendCode.Authentication);
}

export function authenticationOk(): Buffer {
  return authentication(AuthRequest.Ok);
}

export function authenticationCleartextPassword(): Buffer {
  return authentication(AuthRequest.CleartextPassword);
}

export function authenticationMD5Password(salt: Buffer): Buffer {
  if (salt.length !== 4) throw new RangeError('MD5 salt must be 4 bytes');
  return authentication(AuthRequest.MD5Password, salt);
}

export function authenticationSASL(mechanisms: string[]): Buffer {
  const writer = w().int32(AuthRequest.SASL);
  for (const mechanism of mechanisms) writer.cstring(mechanism);
  writer.byte(0);
  return writer.message(BackendCode.Authentication);
}

export function authenticationSASLContinue(data: Buffer | string): Buffer {
  return authentication(AuthRequest.SASLContinue, Buffer.from(data));
}

export function authenticationSASLFinal(data: Buffer | string): Buffer {
  return authentication(AuthRequest.SASLFinal, Buffer.from(data));
}

export function parameterStatus(name: string, value: string): Buffer {
  return w().cstring(name).cstring(value).message(BackendCode.ParameterStatus);
}

export function backendKeyData(processId: number, secretKey: number): Buffer {
  return w().int32(processId).int32(secretKey).message(BackendCode.BackendKeyData);
}

export function readyForQuery(status: TransactionStatus): Buffer {
  return w().byte(status.charCodeAt(0)).message(BackendCode.ReadyForQuery);
}

export function rowDescription(fields: readonly FieldDescription[]): Buffer {
  const writer = w().int16(fields.length);
  for (const f of fields) {
    writer
      .cstring(f.name)
      .int32(f.tableOid)
      .int16(f.columnAttr)
      .int32(f.typeOid)
      .int16(f.typeSize)
      .int32(f.typeModifier)
      .int16(f.format);
  }
  return writer.message(BackendCode.RowDescription);
}

/** Strings are sent as UTF-8 text; Buffers as they are (already in the column's text or binary format). */
export function dataRow(values: readonly (Buffer | string | null)[]): Buffer {
  const writer = w().int16(values.length);
  for (const value of values) writer.lengthPrefixed(value);
  return writer.message(BackendCode.DataRow);
}

export function commandComplete(tag: string): Buffer {
  return w().cstring(tag).message(BackendCode.CommandComplete);
}

export function emptyQueryResponse(): Buffer {
  return emptyMessage(BackendCode.EmptyQueryResponse);
}

function errorOrNotice(code: string, fields: ErrorFields): Buffer {
  const writer = w().byte(0x53 /* S */).cstring(fields.severity);
  // 'V' is the severity that is never translated; libpq prefers it when present (PostgreSQL >= 9.6 sends both).
  writer.byte(0x56 /* V */).cstring(fields.severity);
  for (const key of Object.keys(ErrorFieldCode) as (keyof ErrorFields)[]) {
    if (key === 'severity') continue;
    const value = fields[key];
    if (value === undefined || value === '') continue;
    writer.byte(ErrorFieldCode[key].charCodeAt(0)).cstring(stripNul(String(value)));
  }
  writer.byte(0);
  return writer.message(code);
}

/** A NUL would end the field early and desynchronise the client's parser; PostgreSQL never emits one. */
function stripNul(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '') : value;
}

export function errorResponse(fields: ErrorFields): Buffer {
  return errorOrNotice(BackendCode.ErrorResponse, fields);
}

export function noticeResponse(fields: ErrorFields): Buffer {
  return errorOrNotice(BackendCode.NoticeResponse, fields);
}

export function parseComplete(): Buffer {
  return emptyMessage(BackendCode.ParseComplete);
}

export function bindComplete(): Buffer {
  return emptyMessage(BackendCode.BindComplete);
}

export function closeComplete(): Buffer {
  return emptyMessage(BackendCode.CloseComplete);
}

export function noData(): Buffer {
  return emptyMessage(BackendCode.NoData);
}

export function portalSuspended(): Buffer {
  return emptyMessage(BackendCode.PortalSuspended);
}

export function parameterDescription(oids: readonly number[]): Buffer {
  const writer = w().int16(oids.length);
  for (const oid of oids) writer.int32(oid);
  return writer.message(BackendCode.ParameterDescription);
}

function copyResponse(
  code: string,
  columnCount: number,
  format: number,
  columnFormats?: readonly number[],
): Buffer {
  const writer = w().byte(format).int16(columnCount);
  for (let i = 0; i < columnCount; i++) writer.int16(columnFormats?.[i] ?? format);
  return writer.message(code);
}

/** `format` 0 = text (every column text), 1 = binary; `columnFormats` overrides per column. */
export function copyOutResponse(columnCount: number, format = 0, columnFormats?: readonly number[]): Buffer {
  return copyResponse(BackendCode.CopyOutResponse, columnCount, format, columnFormats);
}

export function copyInResponse(columnCount: number, format = 0, columnFormats?: readonly number[]): Buffer {
  return copyResponse(BackendCode.CopyInResponse, columnCount, format, columnFormats);
}

export function copyData(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return new Writer(bytes.length + 5).bytes(bytes).message(BackendCode.CopyData);
}

export function copyDone(): Buffer {
  return emptyMessage(BackendCode.CopyDone);
}

/**
 * Tells a client that asked for protocol 3.<minor> (or sent `_pq_.` options) which minor version we speak
 * and which options we did not recognise; the connection then continues in 3.<newestMinor>.
 */
export function negotiateProtocolVersion(
  newestMinor: number,
  unrecognizedOptions: readonly string[] = [],
): Buffer {
  const writer = w().int32(newestMinor).int32(unrecognizedOptions.length);
  for (const option of unrecognizedOptions) writer.cstring(option);
  return writer.message(BackendCode.NegotiateProtocolVersion);
}

/** LISTEN/NOTIFY delivery; not used yet but cheap to have alongside the rest. */
export function notificationResponse(processId: number, channel: string, payload: string): Buffer {
  return w().int32(processId).cstring(channel).cstring(payload).message(BackendCode.NotificationResponse);
}

const SEVERITIES: ReadonlySet<string> = new Set<Severity>([
  'ERROR',
  'FATAL',
  'PANIC',
  'WARNING',
  'NOTICE',
  'DEBUG',
  'INFO',
  'LOG',
]);
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The ErrorResponse fields for anything thrown. PgError maps directly; an error that already carries
 * PostgreSQL fields (pg-protocol's DatabaseError, PGlite's errors) keeps them; any other Error is an
 * internal_error whose message is kept but whose stack never reaches the client.
 */
export function errorFieldsOf(err: unknown): ErrorFields {
  if (err instanceof PgError) {
    const fields: ErrorFields = { severity: err.severity, code: err.code, message: err.message };
    if (err.fields.detail !== undefined) fields.detail = err.fields.detail;
    if (err.fields.hint !== undefined) fields.hint = err.fields.hint;
    if (err.fields.position !== undefined) fields.position = err.fields.position;
    return fields;
  }
  if (err instanceof Error) {
    const e = err as Error & Record<string, unknown>;
    // Node's system errors have a `code` too (EPIPE is 5 capitals), so a SQLSTATE also needs a severity.
    if (typeof e.code === 'string' && SQLSTATE.test(e.code) && typeof e.severity === 'string') {
      const severity = SEVERITIES.has(e.severity) ? (e.severity as Severity) : 'ERROR';
      const fields: ErrorFields = { severity, code: e.code, message: e.message };
      for (const key of Object.keys(ErrorFieldCode) as (keyof ErrorFields)[]) {
        if (key === 'severity' || key === 'code' || key === 'message') continue;
        const value = e[key];
        if (value === undefined || value === null || value === '') continue;
        if (key === 'position' || key === 'internalPosition') {
          const n = Number(value);
          if (Number.isInteger(n) && n > 0) fields[key] = n;
        } else {
          fields[key] = String(value);
        }
      }
      return fields;
    }
    return { severity: 'ERROR', code: SqlState.internal_error, message: err.message || err.name };
  }
  return { severity: 'ERROR', code: SqlState.internal_error, message: String(err) };
}
