import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { PgError, SqlState } from '../errors.js';
import * as backend from './backend-serializer.js';
import { Reader, invalidMessage } from './buffer-reader.js';
import { clientCodec, clientEncodingName } from './encoding.js';
import {
  CANCEL_REQUEST_CODE,
  FrontendCode,
  NEGOTIATE_GSS_CODE,
  NEGOTIATE_SSL_CODE,
  PROTOCOL_VERSION_3,
} from './messages.js';
import { constantTimeEquals, md5Response, SCRAM_SHA_256, ScramSession, scramVerifier } from './scram.js';

export type AuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';

/** The subset of a pino logger the wire layer uses; it never receives passwords. */
export interface WireLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WireOptions {
  auth: {
    method: AuthMethod;
    users: Record<string, string>; /* user -> password; any user allowed when method is trust */
  };
  tls?: { key: Buffer; cert: Buffer };
  /** When set, the only database names a client may connect to; others get FATAL 3D000. */
  databases?: string[];
  /** ParameterStatus values to send after AuthenticationOk, given the client's startup parameters. */
  serverParameters(startup: Record<string, string>): Record<string, string>;
  /** The BackendKeyData for a new connection. */
  newBackendKey(): { processId: number; secretKey: number };
  onCancelRequest(processId: number, secretKey: number): void;
  /** PostgreSQL's authentication_timeout: a client that has not finished startup by then gets a FATAL. */
  startupTimeoutMs?: number;
  /**
   * Called once the StartupMessage has been read (after SSL negotiation, before authentication); an error
   * returned is sent as the FATAL that ends the connection (max_connections: 53300 "too many clients").
   */
  admit?(): PgError | undefined;
  /** Called once per socket when its startup ends, with how it ended (for the connection metrics). */
  onStartupEnd?(outcome: StartupOutcome): void;
  /** The largest Query, Parse, Bind, CopyData... accepted after startup; larger ones end the connection (54000). */
  maxMessageBytes?: number;
  logger?: WireLogger;
}

/** pqcomm.h: a StartupMessage larger than this is refused before it is buffered. */
const MAX_STARTUP_PACKET_LENGTH = 10000;
/** libpq-be.h PG_MAX_AUTH_TOKEN_LENGTH: bounds a PasswordMessage / SASL message during authentication. */
const PG_MAX_AUTH_TOKEN_LENGTH = 65535;
const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;
/** The protocol minor version we speak; newer 3.x clients are told so with NegotiateProtocolVersion. */
const PROTOCOL_MINOR = 0;

/**
 * Buffers a socket's bytes so startup can `await` exactly n of them. Startup is a strict request/response
 * exchange, so a pull-style reader reads far more plainly than an event-driven state machine, and it lets the
 * TLS upgrade move to a new stream between two reads.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { size: number; resolve: (b: Buffer | null) => void } | undefined;
  private closed = false;
  private stream: net.Socket | undefined;

  /** Whether the peer has finished sending ('end', 'close' or an error was seen). */
  get ended(): boolean {
    return this.closed;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  };
  private readonly onClose = (): void => {
    this.closed = true;
    this.wake();
  };

  /** Ends the wait as if the peer had gone (startup timeout). */
  abort(): void {
    this.onClose();
  }

  attach(stream: net.Socket): void {
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('end', this.onClose);
    stream.on('close', this.onClose);
    stream.on('error', this.onClose);
  }

  /** Stops listening. The caller keeps its own 'error' listener so a late error cannot go unhandled. */
  detach(): void {
    const stream = this.stream;
    if (!stream) return;
    stream.off('data', this.onData);
    stream.off('end', this.onClose);
    stream.off('close', this.onClose);
    stream.off('error', this.onClose);
    this.stream = undefined;
  }

  get buffered(): number {
    return this.length;
  }

  /** Exactly `size` bytes, or null when the peer went away first. */
  read(size: number): Promise<Buffer | null> {
    if (this.waiter) throw new Error('concurrent read');
    return new Promise((resolve) => {
      this.waiter = { size, resolve };
      this.wake();
    });
  }

  /** Whatever arrived beyond the last read, e.g. messages pipelined right after authentication. */
  takeRest(): Buffer {
    const rest = Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    return rest;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.length >= waiter.size) {
      this.waiter = undefined;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      const rest = all.subarray(waiter.size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
      waiter.resolve(all.subarray(0, waiter.size));
    } else if (this.closed) {
      this.waiter = undefined;
      waiter.resolve(null);
    }
  }
}

/** Thrown to end startup quietly: the peer is gone or was a CancelRequest, so there is no one to tell. */
class Hangup extends Error {}

/**
 * How a socket's startup ended: `ok` (authenticated), `bad_password`, `timeout` (authentication_timeout),
 * `refused` (a connection limit), `cancel_request`, `gone` (the client left), `failed` (any other FATAL).
 */
export type StartupOutcome =
  'ok' | 'bad_password' | 'timeout' | 'refused' | 'cancel_request' | 'gone' | 'failed';

export interface StartupResult {
  /** The socket to use from now on: the TLS socket when SSL was negotiated. */
  stream: net.Socket;
  tls: boolean;
  startupParameters: Record<string, string>;
  processId: number;
  secretKey: number;
  /** Bytes the client sent after its last startup message, to be parsed as regular messages. */
  rest: Buffer;
  /** The client already finished sending during startup, so no 'end' event will follow. */
  inputEnded: boolean;
}

/**
 * Runs the startup phase (protocol "Start-up" flow) on a fresh socket. Resolves null when the socket was a
 * CancelRequest, went away, or failed; in the last case the FATAL ErrorResponse has already been sent.
 */
export async function runStartup(socket: net.Socket, options: WireOptions): Promise<StartupResult | null> {
  const reader = new SocketReader();
  let stream = socket;
  let encrypted = false;
  const from = socket.remoteAddress ?? '';
  let user: string | undefined;
  let sslDeclined = false;
  let timedOut = false;
  let outcome: StartupOutcome = 'failed';
  // A permanent listener: once the TLS socket owns the connection the raw socket may still emit errors.
  const ignore = (): void => {};
  socket.on('error', ignore);
  reader.attach(socket);

  const write = (...messages: Buffer[]): void => {
    if (!stream.destroyed) stream.write(messages.length === 1 ? messages[0]! : Buffer.concat(messages));
  };
  const timeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  const timer = setTimeout(() => {
    // As authentication_timeout: the client gets a FATAL (if it still reads), the startup ends here.
    options.logger?.warn({ from, user, timeoutMs }, 'connection refused: startup not finished in time');
    timedOut = true;
    write(
      backend.errorResponse({
        severity: 'FATAL',
        code: SqlState.query_canceled,
        message: 'canceling authentication due to timeout',
        hint: `Startup and authentication must finish within ${timeoutMs / 1000} s.`,
      }),
    );
    reader.abort();
  }, timeoutMs);
  timer.unref();

  try {
    let sslAsked = false;
    let gssAsked = false;
    for (;;) {
      const packet = await readStartupPacket(reader);
      const code = packet.readUInt32BE(0);
      if (code === CANCEL_REQUEST_CODE) {
        if (packet.length !== 12) throw invalidMessage('invalid length of cancel request packet');
        options.onCancelRequest(packet.readInt32BE(4), packet.readInt32BE(8));
        outcome = 'cancel_request';
        throw new Hangup();
      }
      if (code === NEGOTIATE_SSL_CODE) {
        if (sslAsked || encrypted) throw invalidMessage('duplicate SSL request');
        sslAsked = true;
        if (!options.tls) {
          options.logger?.debug({ from }, 'SSL requested but not configured: answered N');
          sslDeclined = true;
          write(Buffer.from('N'));
          continue;
        }
        // Anything already buffered was sent in cleartext before the handshake and could have been injected by
        // a man in the middle (CVE-2021-23214), so it must not be read as if it came over TLS.
        if (reader.buffered > 0) throw invalidMessage('received unencrypted data after SSL request');
        write(Buffer.from('S'));
        reader.detach();
        // Synchronously after the 'S': the ClientHello cannot be delivered to the raw socket in between.
        const secure = new tls.TLSSocket(socket, {
          isServer: true,
          key: options.tls.key,
          cert: options.tls.cert,
        });
        secure.on('error', (err: Error) =>
          options.logger?.warn({ from, err: err.message }, 'connection refused: TLS handshake failed'),
        );
        reader.attach(secure);
        stream = secure;
        encrypted = true;
        continue;
      }
      if (code === NEGOTIATE_GSS_CODE) {
        if (gssAsked || encrypted) throw invalidMessage('duplicate GSSENC request');
        gssAsked = true;
        write(Buffer.from('N'));
        continue;
      }
      const major = code >>> 16;
      const minor = code & 0xffff;
      if (major !== PROTOCOL_VERSION_3 >>> 16) {
        throw invalidMessage(
          `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.${PROTOCOL_MINOR}`,
        );
      }
      const { parameters, protocolOptions } = parseStartupParameters(packet);
      if (minor > PROTOCOL_MINOR || protocolOptions.length > 0) {
        write(backend.negotiateProtocolVersion(PROTOCOL_MINOR, protocolOptions));
      }

      user = parameters.user;
      if (!user) {
        throw new PgError(
          SqlState.invalid_authorization_specification,
          'no PostgreSQL user name specified in startup packet',
          { severity: 'FATAL' },
        );
      }
      parameters.database ||= user;

      const refusal = options.admit?.();
      if (refusal) {
        options.logger?.warn(
          { from, user, code: refusal.code, reason: refusal.message },
          'connection refused',
        );
        outcome = 'refused';
        throw refusal;
      }

      await authenticate(reader, write, user, options, from);

      if (options.databases && !options.databases.includes(parameters.database)) {
        throw new PgError('3D000', `database "${parameters.database}" does not exist`, { severity: 'FATAL' });
      }
      if (parameters.client_encoding !== undefined)
        parameters.client_encoding = clientEncodingName(parameters.client_encoding, 'FATAL');

      const { processId, secretKey } = options.newBackendKey();
      const messages = [backend.authenticationOk()];
      for (const [name, value] of Object.entries(options.serverParameters(parameters))) {
        messages.push(backend.parameterStatus(name, value));
      }
      messages.push(backend.backendKeyData(processId, secretKey));
      write(...messages);

      // Paused until the Connection listens, so bytes arriving in between are buffered rather than dropped.
      stream.pause();
      reader.detach();
      outcome = 'ok';
      return {
        stream,
        tls: encrypted,
        startupParameters: parameters,
        processId,
        secretKey,
        rest: reader.takeRest(),
        inputEnded: reader.ended,
      };
    }
  } catch (err) {
    reader.detach();
    if (timedOut) outcome = 'timeout';
    else if (outcome === 'failed') {
      if (err instanceof Hangup) outcome = 'gone';
      else if (err instanceof PgError && err.code === SqlState.invalid_password) outcome = 'bad_password';
    }
    // A client that asked for TLS, was told there is none and went away (sslmode=require) was refused.
    if (err instanceof Hangup && sslDeclined && user === undefined)
      options.logger?.warn({ from }, 'connection refused: the client asked for TLS, which is not configured');
    if (!(err instanceof Hangup)) {
      const fields = backend.errorFieldsOf(err);
      if (err instanceof PgError)
        options.logger?.info({ from, user, code: fields.code, message: fields.message }, 'startup failed');
      else options.logger?.warn({ from, user, err }, 'startup failed');
      // PostgreSQL ends every startup failure with a FATAL, whatever the error's own level.
      write(backend.errorResponse({ ...fields, severity: 'FATAL' }));
    }
    stream.end();
    // A peer that never reads its FATAL must not hold the socket open.
    setTimeout(() => stream.destroy(), 5000).unref();
    return null;
  } finally {
    clearTimeout(timer);
    options.onStartupEnd?.(outcome);
  }
}

/** The length-prefixed packets before StartupMessage has been accepted: no type byte, length counts itself. */
async function readStartupPacket(reader: SocketReader): Promise<Buffer> {
  const header = await reader.read(4);
  if (!header) throw new Hangup();
  const length = header.readUInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET_LENGTH)
    throw invalidMessage('invalid length of startup packet');
  const body = await reader.read(length - 4);
  if (!body) throw new Hangup();
  return body;
}

function parseStartupParameters(packet: Buffer): {
  parameters: Record<string, string>;
  protocolOptions: string[];
} {
  // Values are read as bytes first: they are text in the client_encoding the same packet names.
  const r = new Reader(packet, 4, packet.length, (bytes) => bytes.toString('latin1'));
  // A null-prototype record: a client-chosen name like "__proto__" must be just a name.
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  const protocolOptions: string[] = [];
  for (;;) {
    if (r.remaining === 0)
      throw invalidMessage('invalid startup packet layout: expected terminator as last byte');
    const name = Buffer.from(r.cstring(), 'latin1').toString('utf8');
    if (name === '') break;
    const value = r.cstring();
    // `_pq_.` names are protocol extensions, reported back as unrecognised rather than treated as settings.
    if (name.startsWith('_pq_.')) protocolOptions.push(name);
    else parameters[name] = value;
  }
  r.done();
  const codec = startupCodec(parameters.client_encoding);
  for (const [name, value] of Object.entries(parameters)) {
    const bytes = Buffer.from(value, 'latin1');
    try {
      parameters[name] = codec.decode(bytes);
    } catch {
      // Not text in the encoding it claims: kept as UTF-8 would read it (a bad client_encoding is refused later).
      parameters[name] = bytes.toString('utf8');
    }
  }
  return { parameters: { ...parameters }, protocolOptions };
}

/** The codec a startup packet's client_encoding names, UTF8 when it names none or an unknown one. */
function startupCodec(encoding: string | undefined): ReturnType<typeof clientCodec> {
  try {
    return clientCodec(encoding === undefined ? undefined : clientEncodingName(encoding));
  } catch {
    return clientCodec(undefined);
  }
}

type Write = (...messages: Buffer[]) => void;

/** Reads the 'p' message that answers an authentication request; its meaning depends on that request. */
async function readPasswordPacket(reader: SocketReader): Promise<Buffer> {
  const header = await reader.read(5);
  if (!header) throw new Hangup();
  const type = String.fromCharCode(header[0]!);
  // A client that gives up (e.g. psql before prompting for a password) may say goodbye instead.
  if (type === FrontendCode.Terminate) throw new Hangup();
  if (type !== FrontendCode.Password) {
    throw invalidMessage(`expected password response, got message type ${header[0]}`);
  }
  const length = header.readUInt32BE(1);
  if (length < 4 || length - 4 > PG_MAX_AUTH_TOKEN_LENGTH)
    throw invalidMessage('invalid password packet size');
  const body = await reader.read(length - 4);
  if (!body) throw new Hangup();
  return body;
}

function passwordFailed(user: string): PgError {
  return new PgError(SqlState.invalid_password, `password authentication failed for user "${user}"`, {
    severity: 'FATAL',
  });
}

async function authenticate(
  reader: SocketReader,
  write: Write,
  user: string,
  options: WireOptions,
  from: string,
): Promise<void> {
  const { method, users } = options.auth;
  if (method === 'trust') return;
  // As PostgreSQL does, an unknown user goes through the same exchange against a password no one knows
  // and fails the same way, so the answer does not tell which users exist.
  const known = Object.hasOwn(users, user);
  const password = known ? users[user]! : randomBytes(32).toString('hex');
  // The server log says why (the client is only told the password failed); never the password itself.
  const fail = (): never => {
    const reason = !known ? 'no such user' : password === '' ? 'empty password' : 'wrong password';
    options.logger?.warn({ user, from, method, reason }, 'login failed');
    throw passwordFailed(user);
  };

  switch (method) {
    case 'password': {
      write(backend.authenticationCleartextPassword());
      const r = new Reader(await readPasswordPacket(reader));
      const given = r.cstring();
      r.done();
      // PostgreSQL never accepts an empty password, even one that matches.
      if (password === '' || !constantTimeEquals(given, password)) fail();
      return;
    }
    case 'md5': {
      const salt = randomBytes(4);
      write(backend.authenticationMD5Password(salt));
      const r = new Reader(await readPasswordPacket(reader));
      const given = r.cstring();
      r.done();
      if (password === '' || !constantTimeEquals(given, md5Response(user, password, salt))) fail();
      return;
    }
    case 'scram-sha-256': {
      // Derived per connection with a fresh salt; PBKDF2 runs while the client reads AuthenticationSASL.
      const verifier = scramVerifier(password);
      verifier.catch(() => {});
      write(backend.authenticationSASL([SCRAM_SHA_256]));
      const r = new Reader(await readPasswordPacket(reader));
      const mechanism = r.cstring();
      if (mechanism !== SCRAM_SHA_256) {
        throw invalidMessage('client selected an invalid SASL authentication mechanism');
      }
      let clientFirst = r.lengthPrefixed();
      r.done();
      const session = new ScramSession(await verifier);
      if (clientFirst === null) {
        // No initial response: ask for it with an empty challenge, as auth.c does.
        write(backend.authenticationSASLContinue(Buffer.alloc(0)));
        clientFirst = await readPasswordPacket(reader);
      }
      write(backend.authenticationSASLContinue(session.clientFirst(clientFirst)));
      const serverFinal = session.clientFinal(await readPasswordPacket(reader));
      if (serverFinal === null || password === '') fail();
      write(backend.authenticationSASLFinal(serverFinal!));
      return;
    }
    default:
      throw new PgError(SqlState.internal_error, `unknown authentication method ${String(method)}`, {
        severity: 'FATAL',
      });
  }
}
