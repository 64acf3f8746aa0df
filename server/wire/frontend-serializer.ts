import { emptyMessage, Writer } from './buffer-writer.js';
import {
  CANCEL_REQUEST_CODE,
  FrontendCode,
  NEGOTIATE_GSS_CODE,
  NEGOTIATE_SSL_CODE,
  PROTOCOL_VERSION_3,
  type FrontendMessage,
  type FrontendMessageOf,
} from './messages.js';

/**
 * Frontend messages as bytes: used to drive the embedded engine with protocol messages and by tests.
 * Unlike pg-protocol's serializer, Bind takes explicit per-parameter and per-column formats, so a mix of text
 * and binary Buffers forwarded from a client is preserved exactly.
 */

type Fields<T extends FrontendMessage['type']> = Omit<FrontendMessageOf<T>, 'type'>;

export function query(sql: string): Buffer {
  return new Writer().cstring(sql).message(FrontendCode.Query);
}

export function parse(m: Fields<'Parse'>): Buffer {
  const w = new Writer().cstring(m.statement).cstring(m.sql).int16(m.paramTypes.length);
  for (const oid of m.paramTypes) w.int32(oid);
  return w.message(FrontendCode.Parse);
}

/** Parameters may also be given as strings (sent as UTF-8, which is what a text-format parameter is). */
export function bind(
  m: Omit<Fields<'Bind'>, 'params'> & { params: readonly (Buffer | string | null)[] },
): Buffer {
  const w = new Writer().cstring(m.portal).cstring(m.statement).int16(m.paramFormats.length);
  for (const f of m.paramFormats) w.int16(f);
  w.int16(m.params.length);
  for (const p of m.params) w.lengthPrefixed(p);
  w.int16(m.resultFormats.length);
  for (const f of m.resultFormats) w.int16(f);
  return w.message(FrontendCode.Bind);
}

export function describe(target: 'S' | 'P', name = ''): Buffer {
  return new Writer().byte(target.charCodeAt(0)).cstring(name).message(FrontendCode.Describe);
}

/** maxRows 0 means no limit. */
export function execute(portal = '', maxRows = 0): Buffer {
  return new Writer().cstring(portal).int32(maxRows).message(FrontendCode.Execute);
}

export function close(target: 'S' | 'P', name = ''): Buffer {
  return new Writer().byte(target.charCodeAt(0)).cstring(name).message(FrontendCode.Close);
}

export function sync(): Buffer {
  return emptyMessage(FrontendCode.Sync);
}

export function flush(): Buffer {
  return emptyMessage(FrontendCode.Flush);
}

export function terminate(): Buffer {
  return emptyMessage(FrontendCode.Terminate);
}

export function copyData(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return new Writer(bytes.length + 5).bytes(bytes).message(FrontendCode.CopyData);
}

export function copyDone(): Buffer {
  return emptyMessage(FrontendCode.CopyDone);
}

export function copyFail(message: string): Buffer {
  return new Writer().cstring(message).message(FrontendCode.CopyFail);
}

/** Any decoded FrontendMessage back to bytes (FunctionCall, Unknown and Undecodable carry no body and cannot be rebuilt). */
export function serializeFrontend(m: FrontendMessage): Buffer {
  switch (m.type) {
    case 'Query':
      return query(m.sql);
    case 'Parse':
      return parse(m);
    case 'Bind':
      return bind(m);
    case 'Describe':
      return describe(m.target, m.name);
    case 'Execute':
      return execute(m.portal, m.maxRows);
    case 'Close':
      return close(m.target, m.name);
    case 'Sync':
      return sync();
    case 'Flush':
      return flush();
    case 'Terminate':
      return terminate();
    case 'CopyData':
      return copyData(m.data);
    case 'CopyDone':
      return copyDone();
    case 'CopyFail':
      return copyFail(m.message);
    case 'FunctionCall':
    case 'Unknown':
    case 'Undecodable':
      throw new Error(`cannot serialize a ${m.type} message`);
  }
}

// Startup-phase packets and authentication responses, for tests and for clients of the engine.

export function startupMessage(parameters: Record<string, string>, version = PROTOCOL_VERSION_3): Buffer {
  const w = new Writer().int32(version);
  for (const [name, value] of Object.entries(parameters)) w.cstring(name).cstring(value);
  return w.byte(0).packet();
}

export function sslRequest(): Buffer {
  return new Writer().int32(NEGOTIATE_SSL_CODE).packet();
}

export function gssEncRequest(): Buffer {
  return new Writer().int32(NEGOTIATE_GSS_CODE).packet();
}

export function cancelRequest(processId: number, secretKey: number): Buffer {
  return new Writer().int32(CANCEL_REQUEST_CODE).int32(processId).int32(secretKey).packet();
}

/** PasswordMessage: a cleartext password or an "md5..." hash. */
export function passwordMessage(password: string): Buffer {
  return new Writer().cstring(password).message(FrontendCode.Password);
}

export function saslInitialResponse(mechanism: string, data: Buffer | string): Buffer {
  return new Writer().cstring(mechanism).lengthPrefixed(Buffer.from(data)).message(FrontendCode.Password);
}

export function saslResponse(data: Buffer | string): Buffer {
  return new Writer().bytes(Buffer.from(data)).message(FrontendCode.Password);
}
