import type { Logger } from 'pino';
import type { CallTally } from '../cloudcontrol/call-tracking.js';
import * as metrics from '../metrics.js';
import { PgError, SqlState } from '../errors.js';
import { parseStatements, type ParsedStatement } from '../plan/parse.js';
import { copyOf } from '../plan/statements.js';
import * as backend from '../wire/backend-serializer.js';
import type { Connection } from '../wire/connection.js';
import { serializeFrontend } from '../wire/frontend-serializer.js';
import {
  FrontendCode,
  type ErrorFields,
  type FrontendMessage,
  type FrontendMessageOf,
} from '../wire/messages.js';
import { Cursor } from './cursors.js';
import { Executor, simpleInvocation, type Invocation, type Services } from './executor.js';
import { EngineError, emptyResult, type Result } from './result.js';
import { WriteError } from './writes.js';

/** A statement prepared by Parse; the unnamed one has the name ''. */
interface PreparedStatement {
  sql: string;
  /** null for an empty query string. */
  parsed: ParsedStatement | null;
  paramTypes: number[];
  described?: { params: Buffer | null; row: Buffer | null };
}

/** A portal made by Bind. Its result is materialized at the first Describe or Execute (or a FETCH by name). */
interface Portal {
  statement: PreparedStatement;
  invocation: Invocation;
  result?: Result;
  /** Where Execute goes on from: row-limited Executes and SQL's FETCH and MOVE by the portal's name move it. */
  cursor?: Cursor;
}

/**
 * One client connection: the protocol's message flow, as postgres.c's PostgresMain runs it. Simple and
 * extended query, with the extended protocol's error recovery (skip to Sync). Statement semantics live in
 * the Executor.
 */
export class Session {
  private readonly executor: Executor;
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  private ignoreTillSync = false;
  private running = false;
  private readonly log: Logger;
  private inbox: AsyncIterator<FrontendMessage> | undefined;
  /** The read under way: a COPY FROM STDIN cancelled while waiting leaves it for the message loop. */
  private pending: Promise<IteratorResult<FrontendMessage>> | undefined;
  /** Terminate arrived while COPY FROM STDIN was reading. */
  private terminated = false;
  /** The client's socket closed (abandon()). */
  private gone = false;
  /** Server shutdown: aborts the wait for the next message; the session then ends with FATAL 57P01. */
  private readonly stopping = new AbortController();
  /** A FATAL has gone to the client: nothing more is sent. */
  private fatalSent = false;
  private readonly backendStart = new Date();
  private stateChange = this.backendStart;
  /** The running statement, or the last one when idle: its kind (never its text), start and Cloud Control calls. */
  private statementNow: { kind: string; start: Date; calls: CallTally } | undefined;
  /** COPY FROM STDIN for this session's statements: see Invocation.copyIn. */
  private readonly copyIn = (response: Buffer, signal: AbortSignal) => this.readCopyData(response, signal);

  constructor(
    private readonly connection: Connection,
    services: Services,
    startupSettings: Map<string, string>,
    /** false: the server's own session (warm-up.ts), whose statements are not in the metrics. */
    private readonly counted = true,
  ) {
    this.executor = new Executor(services, startupSettings, connection.processId);
    this.executor.user = connection.startupParameters.user ?? '';
    this.executor.portals = {
      cursor: async (name) => {
        const portal = name === '' ? undefined : this.portals.get(name);
        if (!portal) return undefined;
        await this.materialize(portal);
        return portal.cursor;
      },
      close: (name) => {
        if (name !== null) return name !== '' && this.portals.delete(name);
        for (const key of this.portals.keys()) if (key !== '') this.portals.delete(key);
        return true;
      },
    };
    this.log = services.logger.child({ session: connection.processId });
    // The connection converts text to and from the client encoding the session's settings hold.
    connection.useClientEncoding(() => this.executor.settings.get('client_encoding'));
  }

  async run(): Promise<void> {
    this.readyForQuery();
    this.inbox = this.connection.messages();
    try {
      await this.loop();
    } catch (err) {
      if (!this.stopping.signal.aborted) throw err;
    }
    // As PostgreSQL's backends on a fast shutdown: the statement that was running had its answer, then this.
    if (this.stopping.signal.aborted && !this.gone && !this.terminated && !this.fatalSent)
      this.sendError(shutdownError());
    this.connection.close();
  }

  private async loop(): Promise<void> {
    const stop = this.stopping.signal;
    for (;;) {
      const message = this.nextReady(stop) ?? (await this.next(stop));
      if (!message || message.type === 'Terminate' || this.gone) break;
      // PostgreSQL cannot tell where a message of an unknown type ends, so it gives up on the connection.
      if (message.type === 'Unknown') {
        this.sendError(
          new PgError(
            SqlState.protocol_violation,
            `invalid frontend message type ${message.code.charCodeAt(0)}`,
            { severity: 'FATAL' },
          ),
        );
        break;
      }
      if (this.ignoreTillSync && message.type !== 'Sync') continue;
      try {
        // Bind, Sync, Close, Flush and a Parse of a statement described before finish at once: no promise (and no
        // async-hooks work) per message for them.
        const handling = this.handle(message);
        if (handling) await handling;
      } catch (err) {
        this.sendError(err);
        // A Query and a FunctionCall end with their own ReadyForQuery; only the extended protocol skips to Sync.
        if (message.type === 'FunctionCall') this.readyForQuery();
        else if (message.type !== 'Query') this.ignoreTillSync = true;
      }
      if (this.terminated || stop.aborted) break;
    }
  }

  /** The session's row of cloud_control.sessions. */
  activity(): Record<string, unknown> {
    const { user, application_name } = this.connection.startupParameters;
    const txn = this.executor.txn.status;
    return {
      pid: this.connection.processId,
      usename: user,
      application_name: this.executor.settings.get('application_name') ?? application_name ?? '',
      client_addr: this.connection.remoteAddress || null,
      backend_start: this.backendStart.toISOString(),
      state: this.running
        ? 'active'
        : txn === 'I'
          ? 'idle'
          : txn === 'T'
            ? 'idle in transaction'
            : 'idle in transaction (aborted)',
      statement_kind: this.statementNow?.kind ?? null,
      statement_start: this.statementNow?.start.toISOString() ?? null,
      state_change: this.stateChange.toISOString(),
      calls_in_flight: this.statementNow?.calls.inFlight ?? 0,
      calls_done: this.statementNow?.calls.done ?? 0,
    };
  }

  /** When the session last ran a statement (ms since the epoch; now while one runs, its start if none ran). */
  get lastActive(): number {
    return this.running ? Date.now() : this.stateChange.getTime();
  }

  /** Whether a statement is running (a shutdown waits for it). */
  get busy(): boolean {
    return this.running;
  }

  /**
   * The server is shutting down: the session ends with FATAL 57P01 once what is running has finished (at once
   * when idle). With `now`, what is running is stopped first.
   */
  shutdown(now = false): void {
    if (!this.stopping.signal.aborted) this.stopping.abort(shutdownError());
    if (now && this.running) this.executor.cancel(shutdownError());
  }

  /** The client's next message when it is here already (no wait to stop), unless a wait is under way or stopped. */
  private nextReady(signal: AbortSignal): FrontendMessage | undefined {
    if (this.pending || signal.aborted) return undefined;
    return this.connection.takeReady();
  }

  /** The client's next message; undefined once input has ended. With a signal, stops waiting when it aborts. */
  private async next(signal?: AbortSignal): Promise<FrontendMessage | undefined> {
    const read = (this.pending ??= this.inbox!.next());
    const result = signal ? await untilAborted(read, signal) : await read;
    this.pending = undefined;
    return result.done ? undefined : result.value;
  }

  /**
   * Copy-in mode of COPY FROM STDIN (protocol "COPY Operations"): CopyData until CopyDone; CopyFail ends it with
   * 57014; Flush and Sync are ignored; any other message is a protocol violation. The copy messages left after an
   * error are ignored by the message loop, as PostgreSQL does.
   */
  private async readCopyData(response: Buffer, signal: AbortSignal): Promise<Buffer> {
    this.send(response);
    this.connection.flush();
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (;;) {
      const message = await this.next(signal);
      if (!message)
        throw new PgError(
          SqlState.connection_failure,
          'unexpected EOF on client connection with an open transaction',
        );
      switch (message.type) {
        case 'CopyData':
          bytes += message.data.length;
          if (bytes > MAX_COPY_IN_BYTES)
            throw new PgError(
              SqlState.program_limit_exceeded,
              `COPY FROM STDIN data exceeds ${MAX_COPY_IN_BYTES / 1024 / 1024} MB`,
              { hint: 'Each row creates an AWS resource: split the data into several COPY statements.' },
            );
          chunks.push(message.data);
          break;
        case 'CopyDone':
          return Buffer.concat(chunks, bytes);
        case 'CopyFail':
          throw new PgError(SqlState.query_canceled, `COPY from stdin failed: ${message.message}`);
        case 'Undecodable':
          throw message.error;
        case 'Flush':
        case 'Sync':
          break;
        default:
          if (message.type === 'Terminate') this.terminated = true;
          throw new PgError(
            SqlState.protocol_violation,
            `unexpected message type 0x${messageCode(message).toString(16).toUpperCase().padStart(2, '0')} during COPY from stdin`,
          );
      }
    }
  }

  /** The client's socket closed: what is running stops, and nothing more of what it sent runs. */
  abandon(): void {
    this.gone = true;
    this.cancel();
  }

  /** A CancelRequest for this session: stops what is running, if anything. */
  cancel(): void {
    if (this.running)
      this.executor.cancel(new PgError(SqlState.query_canceled, 'canceling statement due to user request'));
  }

  private handle(message: FrontendMessage): Promise<void> | undefined {
    switch (message.type) {
      case 'Query':
        return this.simpleQuery(message.sql);
      case 'Parse':
        return this.parse(message);
      case 'Bind':
        this.bind(message);
        return;
      case 'Describe':
        return message.target === 'S'
          ? this.describeStatement(message.name)
          : this.describePortal(message.name);
      case 'Execute':
        return this.execute(message);
      case 'Close':
        if (message.target === 'S') this.statements.delete(message.name);
        else this.portals.delete(message.name);
        this.send(backend.closeComplete());
        return;
      case 'Sync':
        this.ignoreTillSync = false;
        if (!this.executor.txn.inBlock) this.portals.clear();
        this.readyForQuery();
        return;
      case 'Flush':
        this.connection.flush();
        return;
      case 'CopyData':
      case 'CopyDone':
      case 'CopyFail':
        return; // outside COPY FROM STDIN these are ignored, as PostgreSQL does
      case 'FunctionCall':
        // The call would run in its own engine unit, so large objects could not outlive it: refuse it.
        throw new PgError(
          SqlState.feature_not_supported,
          'the fastpath function call protocol is not supported',
          { hint: 'Call the function with SELECT; large objects cannot be stored here.' },
        );
      case 'Terminate':
      case 'Unknown':
        return; // the message loop handles both
      case 'Undecodable':
        // Text not in the client encoding: an ERROR for that message, as PostgreSQL gives (22021 / 22P05).
        this.executor.txn.fail();
        if (message.code !== FrontendCode.Query) throw message.error;
        this.sendError(message.error);
        this.readyForQuery();
        return;
    }
  }

  private async simpleQuery(sql: string): Promise<void> {
    try {
      const statements = parseStatements(sql);
      if (statements.length === 0) this.send(backend.emptyQueryResponse());
      let offset = 0;
      for (const stmt of statements) {
        if (this.gone) break;
        const at = sql.indexOf(stmt.sql, offset);
        offset = at < 0 ? offset : at + stmt.sql.length;
        try {
          const invocation = { ...simpleInvocation, copyIn: this.copyIn, resultKey: '' };
          this.sendResult(await this.runStatement(stmt, invocation), {
            description: true,
            maxRows: 0,
            sent: 0,
          });
        } catch (err) {
          throw withPositionOffset(err, at < 0 ? 0 : at);
        }
      }
    } catch (err) {
      this.sendError(err);
    }
    this.readyForQuery();
  }

  /**
   * PostgreSQL analyzes a statement at Parse (unknown tables, columns, types are errors there), so the engine
   * describes it now; the description is kept for Describe.
   */
  private parse(message: FrontendMessageOf<'Parse'>): Promise<void> | undefined {
    if (message.statement !== '' && this.statements.has(message.statement))
      throw new PgError(
        SqlState.duplicate_prepared_statement,
        `prepared statement "${message.statement}" already exists`,
      );
    // PostgreSQL drops the unnamed statement before it looks at the new one: after a failed Parse it is gone.
    if (message.statement === '') this.statements.delete('');
    const parsed = parseStatements(message.sql);
    if (parsed.length > 1)
      throw new PgError(SqlState.syntax_error, 'cannot insert multiple commands into a prepared statement');
    const statement: PreparedStatement = {
      sql: message.sql,
      parsed: parsed[0] ?? null,
      paramTypes: message.paramTypes,
    };
    if (statement.parsed) {
      this.executor.txn.checkNotFailed(statement.parsed.kind);
      if (analyzedAtParse(statement.parsed)) {
        // A statement described before (a driver's unnamed statement, parsed again for each run) needs no promise.
        const known = this.executor.knownDescription(statement.parsed, statement.paramTypes);
        if (!known)
          return this.executor.describe(statement.parsed, statement.paramTypes).then((described) => {
            statement.described = described;
            this.parsed(message.statement, statement);
          });
        statement.described = known;
      }
    }
    this.parsed(message.statement, statement);
  }

  private parsed(name: string, statement: PreparedStatement): void {
    this.statements.set(name, statement);
    this.send(backend.parseComplete());
  }

  private bind(message: FrontendMessageOf<'Bind'>): void {
    const statement = this.statement(message.statement);
    if (message.portal !== '' && this.portals.has(message.portal))
      throw new PgError(SqlState.duplicate_cursor, `portal "${message.portal}" already exists`);
    this.executor.txn.checkNotFailed(statement.parsed?.kind);
    const run = (
      sql: string,
      bind: Pick<FrontendMessageOf<'Bind'>, 'params' | 'paramFormats' | 'resultFormats'>,
    ) =>
      Buffer.concat([
        serializeFrontend({
          type: 'Parse',
          statement: '',
          sql,
          paramTypes: bind.params.length ? statement.paramTypes : [],
        }),
        serializeFrontend({
          type: 'Bind',
          portal: '',
          statement: '',
          params: bind.params,
          paramFormats: bind.paramFormats,
          resultFormats: bind.resultFormats,
        }),
        serializeFrontend({ type: 'Describe', target: 'P', name: '' }),
        serializeFrontend({ type: 'Execute', portal: '', maxRows: 0 }),
        serializeFrontend({ type: 'Sync' }),
      ]);
    const invocation: Invocation = {
      params: message.params.map((p) => (p === null ? null : p.toString('utf8'))),
      messages: (sql, results = 'client') =>
        run(sql, { ...message, resultFormats: results === 'text' ? [] : message.resultFormats }),
      resultMessages: (sql) =>
        run(sql, { params: [], paramFormats: [], resultFormats: message.resultFormats }),
      copyIn: this.copyIn,
      resultKey: bindKey(statement.paramTypes, message),
      formats: {
        paramTypes: statement.paramTypes,
        paramFormats: message.paramFormats,
        resultFormats: message.resultFormats,
        paramBytes: message.params,
      },
    };
    this.portals.set(message.portal, { statement, invocation });
    this.send(backend.bindComplete());
  }

  private async describeStatement(name: string): Promise<void> {
    const statement = this.statement(name);
    if (statement.parsed && !statement.described)
      statement.described = await this.executor.describe(statement.parsed, statement.paramTypes);
    const params = statement.described?.params;
    this.send(params ?? backend.parameterDescription(statement.paramTypes));
    this.send(statement.described?.row ?? backend.noData());
  }

  private describePortal(name: string): Promise<void> | undefined {
    // A cursor made by DECLARE is a portal too: drivers (psycopg 3) describe it by name.
    const cursor = this.portals.has(name) ? undefined : this.executor.cursors.find(name);
    if (cursor) {
      this.send(cursor.result.description ?? backend.noData());
      return;
    }
    const portal = this.portal(name);
    // COPY FROM STDIN returns no rows; it runs (and asks for its data) at Execute.
    if (!portal.result && isCopyFromStdin(portal.statement.parsed)) {
      this.send(backend.noData());
      return;
    }
    const send = (result: Result) => this.send(result.description ?? backend.noData());
    const result = this.materialize(portal);
    if (result instanceof Promise) return result.then(send);
    send(result);
  }

  private execute(message: FrontendMessageOf<'Execute'>): Promise<void> | undefined {
    const cursor = this.portals.has(message.portal) ? undefined : this.executor.cursors.find(message.portal);
    if (cursor) {
      const rows = cursor.fetch('forward', message.maxRows > 0 ? message.maxRows : Number.MAX_SAFE_INTEGER);
      this.connection.rowFormats(cursor.result.description);
      for (const row of rows) this.send(row);
      this.send(
        message.maxRows > 0 && cursor.hasMore
          ? backend.portalSuspended()
          : backend.commandComplete(`SELECT ${rows.length}`),
      );
      return;
    }
    const portal = this.portal(message.portal);
    if (!portal.statement.parsed) {
      this.send(backend.emptyQueryResponse());
      return;
    }
    const send = (result: Result) => {
      const sent = Math.min(portal.cursor!.position, result.rows.length);
      this.sendResult(result, { description: false, maxRows: message.maxRows, sent }, portal);
    };
    const result = this.materialize(portal);
    if (result instanceof Promise) return result.then(send);
    send(result);
  }

  /** The portal's result, run now if it has not run yet; at once (no promise) when it has, or is a kept answer. */
  private materialize(portal: Portal): Result | Promise<Result> {
    if (portal.result) return portal.result;
    const stmt = portal.statement.parsed;
    const result = stmt ? this.runStatement(stmt, portal.invocation) : emptyResult(null);
    return result instanceof Promise
      ? result.then((r) => this.keepResult(portal, r))
      : this.keepResult(portal, result);
  }

  private keepResult(portal: Portal, result: Result): Result {
    portal.result = result;
    portal.cursor = new Cursor(result, false);
    return result;
  }

  /** Runs one statement; the log records its kind, time and outcome, never its text (it may hold credentials). */
  private runStatement(stmt: ParsedStatement, invocation: Invocation): Result | Promise<Result> {
    const started = performance.now();
    const kept = this.executor.keptAnswer(stmt, invocation);
    if (kept) return this.countKept(stmt, kept, started);
    return this.runInExecutor(stmt, invocation, started);
  }

  private async runInExecutor(
    stmt: ParsedStatement,
    invocation: Invocation,
    started: number,
  ): Promise<Result> {
    this.running = true;
    const calls: CallTally = { inFlight: 0, done: 0 };
    this.statementNow = { kind: stmt.kind, start: new Date(), calls };
    this.stateChange = this.statementNow.start;
    try {
      const result = await this.executor.execute(stmt, invocation, calls);
      this.count(stmt.kind, 'ok', started);
      this.log.debug(
        { kind: stmt.kind, ms: elapsed(started), rows: result.rows.length, tag: result.tag },
        'statement',
      );
      return result;
    } catch (err) {
      this.executor.txn.fail();
      this.count(stmt.kind, metrics.failedOutcome(err), started);
      this.log.debug(
        { kind: stmt.kind, ms: elapsed(started), code: (err as PgError).code },
        'statement failed',
      );
      throw err;
    } finally {
      this.running = false;
      this.stateChange = new Date();
    }
  }

  private count(kind: string, outcome: string, started: number): void {
    if (this.counted) countStatement(kind, outcome, started);
  }

  /** A kept answer is a statement run as any other for metrics and cloud_control.sessions, in no time. */
  private countKept(stmt: ParsedStatement, result: Result, started: number): Result {
    const start = new Date();
    this.statementNow = { kind: stmt.kind, start, calls: { inFlight: 0, done: 0 } };
    this.stateChange = start;
    this.count(stmt.kind, 'ok', started);
    return result;
  }

  /** Sends a result, or the part of it a row-limited Execute asks for (then PortalSuspended). */
  private sendResult(
    result: Result,
    how: { description: boolean; maxRows: number; sent: number },
    portal?: Portal,
  ): void {
    if (how.sent === 0) for (const m of result.messages) this.send(m);
    if (how.description && result.description) this.send(result.description);
    else this.connection.rowFormats(result.description);
    const end = how.maxRows > 0 ? Math.min(how.sent + how.maxRows, result.rows.length) : result.rows.length;
    for (let i = how.sent; i < end; i++) this.send(result.rows[i]!);
    portal?.cursor?.fetch('forward', end - how.sent);
    if (end < result.rows.length) {
      this.send(backend.portalSuspended());
      return;
    }
    for (const frame of result.copy) this.send(frame);
    if (result.tag === null) this.send(backend.emptyQueryResponse());
    else this.send(backend.commandComplete(rowLimitedTag(result.tag, how.sent, end, result.rows.length)));
  }

  private statement(name: string): PreparedStatement {
    const statement = this.statements.get(name);
    if (!statement)
      throw new PgError(
        SqlState.invalid_sql_statement_name,
        name === ''
          ? 'unnamed prepared statement does not exist'
          : `prepared statement "${name}" does not exist`,
      );
    return statement;
  }

  private portal(name: string): Portal {
    const portal = this.portals.get(name);
    if (!portal)
      throw new PgError(
        SqlState.invalid_cursor_name,
        name === '' ? 'unnamed portal does not exist' : `portal "${name}" does not exist`,
      );
    return portal;
  }

  /**
   * Errors go out at once, as PostgreSQL's elog.c flushes them: a client that sent Flush rather than Sync
   * (asyncpg, psycopg 3 pipelines) waits for the error before it sends anything more.
   */
  private sendError(err: unknown): void {
    // Any error in a transaction block aborts it, wherever it came from (Parse's analysis, Bind, a syntax error).
    this.executor.txn.fail();
    // The bridge's own recursion over a statement (the planner's walk of 2,000 nested subqueries) overflowing
    // the JavaScript stack is PostgreSQL's stack limit, as the backend itself answers it.
    if (err instanceof RangeError && /call stack/i.test(err.message))
      err = new PgError(SqlState.statement_too_complex, 'stack depth limit exceeded');
    if (err instanceof WriteError) for (const m of err.messages) this.send(m);
    const fields: ErrorFields = err instanceof EngineError ? err.errorFields : backend.errorFieldsOf(err);
    if (fields.severity === 'FATAL') {
      if (this.fatalSent) return;
      this.fatalSent = true;
    }
    this.send(backend.errorResponse(fields));
    this.connection.flush();
  }

  private readyForQuery(): void {
    if (this.fatalSent) return;
    this.send(backend.readyForQuery(this.executor.txn.status));
    this.connection.flush();
  }

  private send(frame: Buffer): void {
    this.connection.send(frame);
  }
}

/** What a Bind gives a statement's answer besides its text: parameter types, formats and values, result formats. */
function bindKey(
  paramTypes: number[],
  bind: Pick<FrontendMessageOf<'Bind'>, 'params' | 'paramFormats' | 'resultFormats'>,
): string {
  let key = `${paramTypes.join(',')};${bind.paramFormats.join(',')};${bind.resultFormats.join(',')}`;
  // Length-prefixed, so no value can pass for two; latin1 keeps every byte of a binary value.
  for (const p of bind.params) key += p === null ? ';N' : `;${p.length}:${p.toString('latin1')}`;
  return key;
}

/** A portal run in pieces ends with the count of its last piece, as PostgreSQL reports it. */
function rowLimitedTag(tag: string, from: number, to: number, total: number): string {
  if (from === 0 && to === total) return tag;
  return tag.replace(/\d+$/, String(to - from));
}

/** An error's position counts from the start of the whole query string, not of its statement. */
function withPositionOffset(err: unknown, offset: number): unknown {
  if (offset === 0) return err;
  if (err instanceof EngineError && err.errorFields.position)
    return new EngineError({ ...err.errorFields, position: err.errorFields.position + offset });
  return err;
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}

/** Input a COPY FROM STDIN takes in; beyond it the statement fails (each row is an AWS request anyway). */
const MAX_COPY_IN_BYTES = 64 * 1024 * 1024;

/** The statements PostgreSQL's parse analysis looks into at Parse; utility statements wait for Execute. */
function analyzedAtParse(stmt: ParsedStatement): boolean {
  return ['select', 'insert', 'update', 'delete', 'explain'].includes(stmt.kind);
}

function isCopyFromStdin(stmt: ParsedStatement | null): boolean {
  return stmt?.kind === 'copy' && copyOf(stmt).fromStdin;
}

/** The type byte of a frontend message, for the protocol's error messages. */
function messageCode(message: FrontendMessage): number {
  if (message.type === 'Unknown') return message.code.charCodeAt(0);
  const code = (FrontendCode as Record<string, string>)[message.type];
  return code ? code.charCodeAt(0) : 0;
}

/** The read, unless the signal aborts first: then its reason (the read stays pending for the next caller). */
function untilAborted<T>(read: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    read.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** A statement in the metrics, once its answer is written. */
function countStatement(kind: string, outcome: string, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  metrics.later(() => {
    metrics.statements.inc({ kind, outcome });
    metrics.statementSeconds.observe({ kind, outcome }, seconds);
  });
}

/** What PostgreSQL sends each backend's client on a fast shutdown (pg_ctl stop -m fast, SIGINT). */
function shutdownError(): PgError {
  return new PgError(SqlState.admin_shutdown, 'terminating connection due to administrator command', {
    severity: 'FATAL',
  });
}
