import type { Logger } from 'pino';
import { deparseSync } from 'pgsql-parser';
import type { Catalog, ResourceTable, SqlVerb } from '../../catalog/types.js';
import type { CloudControl } from '../cloudcontrol/client.js';
import type { MemberRefresh } from '../cloudcontrol/member-refresh.js';
import type { EngineLike, EngineUnit } from '../engine/engine.js';
import { backendPidSetting } from '../engine/template.js';
import { PgError, SqlState } from '../errors.js';
import { markLiteralFree, type ParsedStatement } from '../plan/parse.js';
import {
  closeOf,
  copyOf,
  type CopyInfo,
  deallocateOf,
  declareOf,
  discardOf,
  executeOf,
  explainOf,
  fetchOf,
  prepareOf,
  setOf,
  showOf,
  transactionOf,
} from '../plan/statements.js';
import { applyWrites, WritesCanceledError } from '../cloudcontrol/writes.js';
import { withRenamedCatalogColumns } from '../plan/compat.js';
import { reusablePlan } from '../plan/literal-template.js';
import { setConfigCalls, type SetConfigCall } from '../plan/set-config.js';
import { writeTarget } from '../plan/writes.js';
import { copyInResponse, dataRow, noticeResponse, parameterStatus } from '../wire/backend-serializer.js';
import { clientCodec, clientEncodingName } from '../wire/encoding.js';
import { serializeFrontend } from '../wire/frontend-serializer.js';
import { Cursor, Cursors } from './cursors.js';
import { analyzeLines, callPlanFor, loadFor, type ParamValues } from './load.js';
import {
  dataRowTexts,
  emptyResult,
  EngineError,
  engineReplies,
  singleResult,
  type EngineReply,
  type Result,
} from './result.js';
import { Settings } from './settings.js';
import {
  directAnswer,
  directRead,
  simpleQueryFormats,
  type DirectRead,
  type ProtocolFormats,
} from './direct-read.js';
import {
  cacheTtlMs,
  cacheTtlSetting,
  callsClearCache,
  checkBridgeSetting,
  directReadsOn,
  directReadsSetting,
  formatTtl,
  partialResults,
  partialResultsSetting,
  resultCacheOn,
  resultCacheSetting,
} from './bridge-settings.js';
import type { ReadInputs } from '../cloudcontrol/cache.js';
import type { CallTally } from '../cloudcontrol/call-tracking.js';
import type { ReadContext } from '../cloudcontrol/read-context.js';
import { paramsReadClock } from '../plan/volatility.js';
import {
  answersOf,
  keepAnswer,
  keptAnswer,
  knownRepeatability,
  readsOnlyCachedTables,
  repeatabilityOf,
  statementLeavesNothing,
  type Answers,
} from './result-cache.js';
import { callsRefreshAccounts, refreshAccountsFor } from './refresh-accounts.js';
import { TransactionBlock } from './transaction.js';
import { checkAssignedColumns, checkWritable, createCopiedRows, executeWrite } from './writes.js';

export interface Services {
  catalog: Catalog;
  engine: EngineLike;
  cloud: CloudControl;
  logger: Logger;
  /** Regions a statement that names none reads (and an INSERT without region creates in, when one). */
  defaultRegions: string[];
  /** --read-only: every write is refused. */
  readOnly: boolean;
  /** The rows of cloud_control.sessions: every session of the server now. */
  sessionRows?: () => Record<string, unknown>[];
  /** With `organization:`: what cloud_control.refresh_accounts() lists again. */
  members?: MemberRefresh;
  /** The kept answers (result-cache.ts): the server's, shared by its sessions, unless given. */
  answers?: Answers;
}

/** How a statement's SQL reaches the engine: as a simple Query, or as the client's own Bind. */
export interface Invocation {
  /** Parameter values as text, for the keys the planner pushes down. */
  params: ParamValues;
  /**
   * Frontend messages that run `sql` in the engine and end with one ReadyForQuery: with the client's
   * parameters and result formats, or (`text`) with text results, as the write path reads them.
   */
  messages(sql: string, results?: 'client' | 'text'): Buffer;
  /** Runs `sql` without the client's parameters but in the client's result formats (RETURNING of writes). */
  resultMessages(sql: string): Buffer;
  /**
   * COPY FROM STDIN: sends `response` (CopyInResponse) and resolves with the client's CopyData once it sends
   * CopyDone; rejects on CopyFail (57014), another message (08P01), or `signal`. Absent where the client cannot
   * send copy data.
   */
  copyIn?(response: Buffer, signal: AbortSignal): Promise<Buffer>;
  /**
   * What the answer depends on besides the statement's text and the session's state: the parameters' types, values
   * and formats and the result formats, as one string. Absent where the answer is never kept (EXECUTE, DECLARE).
   */
  resultKey?: string;
  /** The declared parameter types and the parameter and result formats: absent where no direct read may answer. */
  formats?: ProtocolFormats;
  /**
   * Its messages run a statement of their own before the statement's (EXECUTE prepares it again first): what that
   * leaves outlives a rollback, so the unit is never a plain one (EngineUnit.plain).
   */
  runsMore?: boolean;
}

const query = (sql: string) => serializeFrontend({ type: 'Query', sql });

/**
 * Trees of SELECTs whose handling before the engine was found to depend on none of their literals: they read no
 * table the bridge loads (so no fetch, no direct read, no pushed-down key), call no set_config, clear_cache or
 * refresh_accounts, and leave nothing behind. Texts of the same shape take that tree (parse.ts markLiteralFree), and
 * go to the engine without those walks.
 */
const literalFreeTrees = new WeakSet<object>();
export const simpleInvocation: Invocation = {
  params: [],
  messages: query,
  resultMessages: query,
  formats: simpleQueryFormats,
};

/** Portals made by Bind, seen from SQL: PostgreSQL keeps cursors and portals in one namespace. */
export interface ProtocolPortals {
  /** The named portal's rows as a cursor (run now if it has not run yet); undefined when there is none. */
  cursor(name: string): Promise<Cursor | undefined>;
  /** Closes the named portal, or every named portal (null); false when there was none by that name. */
  close(name: string | null): boolean;
}

/** A SQL-level prepared statement (PREPARE name AS ...). */
interface SqlPrepared {
  /** The PREPARE statement itself: re-run in each unit, since nothing stays in the engine. */
  prepareSql: string;
  query: ParsedStatement;
}

const refused: Partial<Record<ParsedStatement['kind'], string>> = {
  listen: 'LISTEN/NOTIFY is not supported: live AWS state has no notification channel',
  notify: 'LISTEN/NOTIFY is not supported: live AWS state has no notification channel',
  ddl: 'this database serves live AWS resources and has no storage of its own: CREATE, ALTER and DROP are not supported',
  prepare_transaction: 'PREPARE TRANSACTION is not supported',
};

/**
 * Runs one statement for a session. Transaction control, settings, prepared statements and cursors are
 * answered here, since the engine keeps nothing between units; everything else runs in the engine over
 * rows fetched for it.
 */
export class Executor {
  readonly txn = new TransactionBlock();
  readonly settings: Settings;
  readonly cursors = new Cursors();
  private readonly prepared = new Map<string, SqlPrepared>();
  /** Aborts the running statement's Cloud Control calls (cancel, statement_timeout). */
  private abort = new AbortController();
  /** The engine is shared: a cancel names this session's own unit. */
  private runningUnit: EngineUnit | undefined;

  /** Descriptions the engine gave, by statement text, parameter types and settings (oldest first). */
  private readonly descriptions = new Map<string, { params: Buffer | null; row: Buffer | null }>();
  private describedUnder = { version: -1, key: '' };
  /** The session's protocol portals, which SQL's FETCH, MOVE and CLOSE reach by name as they do cursors. */
  portals: ProtocolPortals | undefined;
  /** Finished answers of SELECTs, kept while their fetched rows are current (result-cache.ts). */
  private readonly answers: Answers;
  /** What the result cache needs of the settings as of a version: read once, not per statement. */
  private answerSettings = { version: -1, on: false, ttlMs: 0, key: '' };
  /** The startup user, part of a kept answer's key (the session's identity is the answer's business). */
  user = '';
  /** The running statement's call tally (cloud_control.sessions), handed down with its reads and writes. */
  private calls: CallTally | undefined;

  constructor(
    private readonly services: Services,
    startupSettings: Map<string, string>,
    /** BackendKeyData's process id: what pg_backend_pid() returns. */
    private readonly processId?: number,
  ) {
    // The server's TTL is the setting's default, so SHOW and RESET see it.
    this.settings = new Settings(
      new Map([[cacheTtlSetting, formatTtl(services.cloud.cacheTtlMs)], ...startupSettings]),
    );
    this.answers = services.answers ?? answersOf(services.cloud);
  }

  async execute(stmt: ParsedStatement, invocation: Invocation, calls?: CallTally): Promise<Result> {
    if (calls) this.calls = calls;
    const kind = stmt.kind;
    this.txn.checkNotFailed(kind);
    const refusal = refused[kind];
    if (refusal) throw new PgError(SqlState.feature_not_supported, refusal);
    switch (kind) {
      case 'begin':
      case 'commit':
      case 'rollback':
      case 'savepoint':
      case 'release':
      case 'rollback_to':
        return this.transaction(stmt);
      case 'set':
      case 'reset':
        return this.set(stmt);
      case 'prepare':
        return this.prepare(stmt);
      case 'execute':
        return this.executePrepared(stmt);
      case 'deallocate': {
        const { name } = deallocateOf(stmt);
        if (name === null) this.prepared.clear();
        else if (!this.prepared.delete(name))
          throw new PgError(
            SqlState.invalid_sql_statement_name,
            `prepared statement "${name}" does not exist`,
          );
        return emptyResult(name === null ? 'DEALLOCATE ALL' : 'DEALLOCATE');
      }
      case 'declare':
        return this.declare(stmt, invocation);
      case 'fetch':
      case 'move':
        return this.fetch(stmt);
      case 'close': {
        const { name } = closeOf(stmt);
        if (name === null) this.portals?.close(null);
        if (name === null || !this.portals?.close(name)) this.cursors.close(name);
        return emptyResult(name === null ? 'CLOSE CURSOR ALL' : 'CLOSE CURSOR');
      }
      case 'discard':
        return this.discard(stmt);
      case 'unlisten':
        // Nothing can be listened to (LISTEN is refused), so there is nothing to stop listening to: as in
        // PostgreSQL, UNLISTEN of a channel not listened to does nothing. Pools (asyncpg) run UNLISTEN * on release.
        return emptyResult('UNLISTEN');
      case 'show':
        // client_encoding is the bridge's (the engine's is always UTF8).
        if (showOf(stmt).name === 'client_encoding') {
          const name = clientCodec(this.settings.get('client_encoding')).name;
          return this.runUnit([], invocation.messages(`SELECT '${name}'::text AS client_encoding`));
        }
        // Its default is not sent to the engine with every unit: SHOW it here until it is set.
        if (showOf(stmt).name === directReadsSetting && this.settings.get(directReadsSetting) === undefined)
          return this.runUnit([], invocation.messages(`SELECT 'on'::text AS "${directReadsSetting}"`));
        return this.inEngine(stmt, invocation);
      case 'insert':
      case 'update':
      case 'delete':
      case 'merge':
      case 'truncate':
        return this.write(stmt, invocation);
      case 'copy': {
        const copy = copyOf(stmt);
        if (copy.filename !== undefined || copy.program)
          throw new PgError(
            SqlState.feature_not_supported,
            `COPY ${copy.isFrom ? 'from' : 'to'} a file or program on the server is not supported`,
            {
              hint: copy.isFrom
                ? "Use COPY ... FROM STDIN, or psql's \\copy to read a file on the client."
                : "Use COPY ... TO STDOUT, or psql's \\copy to write a file on the client.",
            },
          );
        if (copy.isFrom) return this.copyFrom(stmt, copy, invocation);
        return this.inEngine(stmt, invocation);
      }
      case 'explain': {
        const { query, analyze, options } = explainOf(stmt);
        if (!['insert', 'update', 'delete', 'merge', 'truncate'].includes(query.kind)) {
          // Without ANALYZE nothing runs: no row is fetched, and a text plan ends with the calls a run would make.
          const text = options.format === undefined || String(options.format).toLowerCase() === 'text';
          // ANALYZE runs it: a text plan ends with the calls made.
          if (analyze) return this.inEngine(stmt, invocation, 0, text ? 'made' : undefined);
          return this.inEngine(stmt, invocation, 0, text ? 'lines' : 'none');
        }
        if (analyze)
          throw new PgError(
            SqlState.feature_not_supported,
            'EXPLAIN ANALYZE of a write would change AWS resources',
            {
              hint: 'Use EXPLAIN without ANALYZE: it shows the Cloud Control requests and sends none.',
            },
          );
        return this.write(query, invocation, true);
      }
      default:
        return this.inEngine(stmt, invocation);
    }
  }

  /**
   * The kept answer to a SELECT the session ran before with the same parameters and settings, over fetched rows
   * that are still current; undefined when it must run. Nothing else is done: no engine unit, no fetch.
   */
  keptAnswer(stmt: ParsedStatement, invocation: Invocation): Result | undefined {
    // No verdict yet: the statement has not run to the end with the result cache on, so nothing is kept for it.
    const verdict = knownRepeatability(stmt.sql);
    if (!verdict || verdict.reason !== undefined) return undefined;
    const key = this.answerKey(stmt, invocation, verdict.sessionBound);
    return key === undefined ? undefined : keptAnswer(this.answers, key, this.answerSettings.ttlMs);
  }

  /**
   * The result cache's key for the statement now: the session's settings (all of them, so sessions set alike share
   * answers), its user, transaction access mode and (when the statement names it) its process id, then what the
   * client sent. Undefined when its answer is neither kept nor looked up.
   */
  private answerKey(
    stmt: ParsedStatement,
    invocation: Invocation,
    sessionBound: boolean,
  ): string | undefined {
    if (stmt.kind !== 'select' || invocation.resultKey === undefined || this.txn.status === 'E')
      return undefined;
    const settings = this.answerSettings;
    if (settings.version !== this.settings.version) {
      settings.version = this.settings.version;
      settings.on = resultCacheOn(this.settings.get(resultCacheSetting));
      settings.ttlMs = cacheTtlMs(this.settings.get(cacheTtlSetting) ?? '');
      settings.key = JSON.stringify([
        this.user,
        this.settings.get('client_encoding') ?? '',
        this.settings.forUnit(),
      ]);
    }
    // aws.cache_ttl = 0: every read is fresh, so no answer is ever current.
    if (!settings.on || settings.ttlMs === 0) return undefined;
    const access = this.inReadOnlyTransaction() ? 'r' : 'w';
    const session = sessionBound ? String(this.processId) : '';
    return `${settings.key}\u0000${access}${session}\u0000${stmt.sql}\u0000${invocation.resultKey}`;
  }

  /** Keeps a SELECT's answer when computing it again over the same inputs could not give another. */
  private async keepAnswer(
    stmt: ParsedStatement,
    invocation: Invocation,
    settingsVersion: number,
    result: Result,
    inputs: ReadInputs,
    tableKinds: string[],
  ): Promise<void> {
    if (inputs.unkept || !readsOnlyCachedTables(tableKinds) || paramsReadClock(invocation.params)) return;
    // The answer is the client's whatever happens here: an engine that cannot say what is volatile keeps nothing.
    const verdict = await repeatabilityOf(stmt, this.services.engine).catch(() => undefined);
    if (verdict === undefined || verdict.reason !== undefined) return;
    // Keyed by the settings it ran under: a statement that changed them (it cannot: set_config is volatile) is not kept.
    if (this.settings.version !== settingsVersion) return;
    const key = this.answerKey(stmt, invocation, verdict.sessionBound);
    if (key !== undefined) keepAnswer(this.answers, key, result, inputs);
  }

  /** Stops the running statement: its Cloud Control calls are aborted and its engine unit cancelled. */
  cancel(reason: PgError): void {
    this.abort.abort(reason);
    if (this.runningUnit) this.services.engine.cancel(this.runningUnit);
  }

  /** The description describe() keeps for the statement and parameter types under the settings now, if any. */
  knownDescription(
    stmt: ParsedStatement,
    paramTypes: number[],
  ): { params: Buffer | null; row: Buffer | null } | undefined {
    if (stmt.kind === 'fetch' || !describedByEngine(stmt)) return undefined;
    return this.descriptions.get(this.descriptionKey(stmt, paramTypes));
  }

  private descriptionKey(stmt: ParsedStatement, paramTypes: number[]): string {
    return `${this.settingsKey()}\u0000${paramTypes.join(',')}\u0000${stmt.sql}`;
  }

  /** The description a Describe of the statement returns, without running it. */
  async describe(
    stmt: ParsedStatement,
    paramTypes: number[],
  ): Promise<{ params: Buffer | null; row: Buffer | null }> {
    if (stmt.kind === 'fetch') {
      const { name } = fetchOf(stmt);
      return { params: null, row: (await this.cursorNamed(name)).result.description };
    }
    if (!describedByEngine(stmt)) return { params: null, row: null };
    // Parse describes every statement, so a client that sends the same one again (each Parse of the unnamed
    // statement) gets the kept answer: the tables never change, the settings are part of the key.
    const key = this.descriptionKey(stmt, paramTypes);
    const known = this.descriptions.get(key);
    if (known) return known;
    const messages = Buffer.concat([
      serializeFrontend({
        type: 'Parse',
        statement: '',
        sql: withRenamedCatalogColumns(stmt.sql),
        paramTypes,
      }),
      serializeFrontend({ type: 'Describe', target: 'S', name: '' }),
      serializeFrontend({ type: 'Sync' }),
    ]);
    // Parse and Describe of the unnamed statement run nothing: the unit can leave nothing behind.
    const reply = singleResult(
      await this.services.engine.run({ settings: this.unitSettings(), load: [], messages, plain: true }),
    );
    const described = { params: reply.parameterDescription ?? null, row: reply.result.description };
    if (this.descriptions.size >= MAX_DESCRIPTIONS)
      this.descriptions.delete(this.descriptions.keys().next().value!);
    this.descriptions.set(key, described);
    return described;
  }

  /**
   * Runs the statement in the engine over its tables' rows. `callPlan` (EXPLAIN without ANALYZE): fetch nothing,
   * and with 'lines' put the Cloud Control calls a run would make after the engine's plan; 'made' (EXPLAIN
   * ANALYZE in text): fetch, and put the calls made there.
   */
  private async inEngine(
    stmt: ParsedStatement,
    invocation: Invocation,
    replyIndex = 0,
    callPlan?: 'lines' | 'none' | 'made',
  ): Promise<Result> {
    // A SELECT's answer may be kept: its fetch notes the read-cache entries it was computed over.
    const keeps = callPlan === undefined && this.answerKey(stmt, invocation, false) !== undefined;
    const settingsVersion = this.settings.version;
    const inputs: ReadInputs | undefined = keeps ? { entries: [], unkept: false } : undefined;
    let tableKinds: string[] = [];
    // Its tree was found to need nothing before the engine (literalFreeTrees): none of those walks again.
    const literalFree = callPlan === undefined && replyIndex === 0 && literalFreeTrees.has(stmt.ast);
    const direct =
      callPlan === undefined && replyIndex === 0 && !literalFree
        ? this.directRead(stmt, invocation)
        : undefined;
    const result = await this.statement(async (signal, notices, context) => {
      const fetches = (callPlan === undefined || callPlan === 'made') && !literalFree;
      const clears = fetches && callsClearCache(stmt);
      if (clears) await this.services.cloud.clearCache();
      // No promise to wait on when the statement does not call refresh_accounts() (every point read).
      const refreshed =
        fetches && callsRefreshAccounts(stmt)
          ? await refreshAccountsFor(stmt, this.services.members, signal)
          : [];
      const reads = inputs ? { ...context, inputs } : context;
      const loaded = fetches ? await this.load(stmt, invocation.params, signal, notices, reads) : undefined;
      tableKinds = loaded?.traces.map((t) => t.table.kind) ?? [];
      const load = loaded?.load ?? [];
      if (direct) {
        const described = this.describeDirect(direct);
        const answer = directAnswer(direct, load, described instanceof Promise ? await described : described);
        if (signal.aborted) throw signal.reason;
        if (answer) return answer;
      }
      const planned =
        callPlan === 'lines' || callPlan === 'none'
          ? callPlanFor(
              stmt,
              invocation.params,
              this.services.catalog,
              this.services.cloud,
              context.acceptedAgeMs,
            )
          : callPlan === 'made'
            ? analyzeLines(loaded!.traces)
            : [];
      const prepared = this.preparedStatementsFor(stmt);
      const prelude = [...this.sessionPrelude(), ...prepared, ...refreshed];
      const setConfigs = literalFree ? [] : setConfigCalls(stmt, invocation.params);
      const readBack = setConfigs.length
        ? [
            serializeFrontend({
              type: 'Query',
              sql: `SELECT ${setConfigs.map((c) => `pg_catalog.current_setting(${quoteLiteral(c.name)}, true)`).join(', ')}`,
            }),
          ]
        : [];
      const sql = withRenamedCatalogColumns(stmt.sql);
      const messages = Buffer.concat([...prelude, invocation.messages(sql), ...readBack]);
      // Nothing the bridge adds may outlive the unit either: prepared statements, refreshed accounts and set_config
      // read-backs go the full way; the read-only SET of the session's prelude is undone by the rollback.
      const leavesNothing = statementLeavesNothing(stmt, this.services.engine);
      const plain =
        invocation.runsMore !== true &&
        prepared.length === 0 &&
        refreshed.length === 0 &&
        setConfigs.length === 0 &&
        leavesNothing;
      // One simple Query of its own: the engine may run it as the prepared statement of the texts like it.
      const reuse =
        plain &&
        load.length === 0 &&
        prelude.length === 0 &&
        readBack.length === 0 &&
        invocation.messages === query
          ? reusablePlan(sql, sql === stmt.sql ? stmt.literals : undefined)
          : undefined;
      // Nothing of this text's handling came from its literals: other texts of its shape need none of it.
      if (
        fetches &&
        callPlan === undefined &&
        replyIndex === 0 &&
        direct === undefined &&
        !clears &&
        refreshed.length === 0 &&
        loaded?.traces.length === 0 &&
        notices.length === 0 &&
        setConfigs.length === 0 &&
        leavesNothing
      ) {
        literalFreeTrees.add(stmt.ast);
        markLiteralFree(stmt);
      }
      const replies = await this.runReplies(load, messages, plain, reuse);
      const at = replyIndex + prelude.length;
      const reply = replies[at];
      if (!reply) throw new PgError(SqlState.internal_error, 'the engine returned no reply');
      if (reply.error) throw reply.error;
      // After the engine's plan: its first line stays the top node's costs, which postgres_fdw's
      // use_remote_estimate parses.
      if (callPlan === 'lines' || callPlan === 'made')
        reply.result.rows.push(...planned.map((line) => dataRow([line])));
      const values = replies[at + 1]?.result.rows[0];
      if (setConfigs.length && values)
        reply.result.messages.push(...this.keepSetConfigs(setConfigs, dataRowTexts(values)));
      return reply.result;
    });
    if (inputs) await this.keepAnswer(stmt, invocation, settingsVersion, result, inputs, tableKinds);
    return result;
  }

  /** The statement as a direct read (direct-read.ts), when it may be one: outside a transaction block, setting on. */
  private directRead(stmt: ParsedStatement, invocation: Invocation): DirectRead | undefined {
    if (!invocation.formats || this.txn.inBlock) return undefined;
    if (!directReadsOn(this.settings.get(directReadsSetting))) return undefined;
    return directRead(stmt, invocation.params, invocation.formats, this.services.catalog);
  }

  /**
   * The engine's row description of a direct read: its statement without the WHERE, described once per session and
   * settings. Null when the engine refuses it: the statement then runs there, for the engine's own error.
   */
  private describeDirect(direct: DirectRead): Buffer | null | Promise<Buffer | null> {
    const stmt: ParsedStatement = { sql: direct.shape.describeSql, ast: {}, kind: 'select' };
    // Described already (every read of the session after its first): no promise to wait on after the fetch.
    const known = this.knownDescription(stmt, []);
    if (known) return known.row;
    return this.describe(stmt, []).then(
      (described) => described.row,
      () => null,
    );
  }

  /** The settings a unit would run under, as text: part of a description's key, made once per settings version. */
  private settingsKey(): string {
    const kept = this.describedUnder;
    if (kept.version === this.settings.version) return kept.key;
    this.describedUnder = { version: this.settings.version, key: JSON.stringify(this.settings.forUnit()) };
    return this.describedUnder.key;
  }

  /** The session's settings for a unit, and its BackendKeyData process id for the engine's pg_backend_pid(). */
  private unitSettings(): [string, string][] {
    const settings = this.settings.forUnit();
    if (this.processId !== undefined) settings.push([backendPidSetting, String(this.processId)]);
    return settings;
  }

  /**
   * What the engine's own session cannot know about this one, set up before the client's statement: a read-only
   * transaction, so SHOW transaction_read_only and the engine's own checks agree with the block. The unit's
   * rollback undoes it.
   */
  private sessionPrelude(): Buffer[] {
    const out: Buffer[] = [];
    if (this.inReadOnlyTransaction())
      out.push(serializeFrontend({ type: 'Query', sql: 'SET transaction_read_only = on' }));
    return out;
  }

  /**
   * set_config() changed settings in the engine's unit, which rolls back: keep them as SET / SET LOCAL would.
   * Returns the ParameterStatus frames of reported settings that changed.
   */
  private keepSetConfigs(calls: SetConfigCall[], values: (string | null)[]): Buffer[] {
    const frames: Buffer[] = [];
    calls.forEach((call, i) => {
      const value = values[i];
      if (value === null || value === undefined) return;
      if (call.name === 'transaction_read_only') {
        if (this.txn.inBlock) this.txn.readOnly = value === 'on';
        return;
      }
      if (isTransactionCharacteristic(call.name)) return;
      // Outside a transaction block a local value ended with the statement.
      if (call.local && !this.txn.inBlock) return;
      frames.push(...this.keepSetting(call.name, value, call.local));
    });
    return frames;
  }

  /** Keeps a value the engine accepted; a change of a setting PostgreSQL reports is sent as ParameterStatus. */
  private keepSetting(name: string, value: string, local: boolean): Buffer[] {
    const before = this.settings.get(name);
    this.settings.set(name, value, local);
    const reported = REPORTED_SETTINGS[name];
    return reported && before !== value ? [parameterStatus(reported, value)] : [];
  }

  /**
   * SQL-level prepared statements live here, not in the engine; a statement that reads
   * pg_prepared_statements sees them because they are prepared again in its unit first.
   */
  private preparedStatementsFor(stmt: ParsedStatement): Buffer[] {
    if (this.prepared.size === 0 || !/pg_prepared_statements/i.test(stmt.sql)) return [];
    return [...this.prepared.values()].map((p) => serializeFrontend({ type: 'Query', sql: p.prepareSql }));
  }

  /** INSERT, UPDATE or DELETE on a table of the catalog; anything else that writes is refused. */
  private write(stmt: ParsedStatement, invocation: Invocation, explain = false): Promise<Result> {
    const verb = stmt.kind.toUpperCase();
    const target = writeTarget(stmt, this.services.catalog);
    if (!target || target.nested || target.kind === 'merge' || target.kind === 'truncate')
      throw new PgError(
        SqlState.feature_not_supported,
        target
          ? `${target.nested ? 'a data-modifying WITH or nested ' : ''}${target.kind.toUpperCase()} is not supported on AWS resources`
          : `${verb} is only supported on the tables of AWS resource types`,
        { hint: 'Use INSERT, UPDATE or DELETE on an AWS resource table, one statement at a time.' },
      );
    requireMethod(target.table, verb as SqlVerb);
    const { cloud } = this.services;
    return this.statement((signal, notices, context) =>
      executeWrite(
        stmt,
        target.table,
        {
          runRewritten: async (sql) =>
            this.runUnit(
              (await this.load(stmt, invocation.params, signal, notices, context)).load,
              invocation.messages(sql, 'text'),
            ),
          runReturning: (sql, table, rows) =>
            this.runUnit([{ table: `${table.schema}.${table.name}`, rows }], invocation.resultMessages(sql)),
          fetchBack: (table, region, identifiers, account) =>
            cloud.fetchRows(
              table,
              {
                region: [region],
                data__identifier: identifiers,
                ...(account?.name !== undefined ? { account_name: [account.name] } : {}),
                ...(account?.id !== undefined ? { account_id: [account.id] } : {}),
              },
              () => {},
              signal,
              'all',
              { context },
            ),
          apply: (table, requests, onProgress) =>
            applyWrites(cloud, table, requests, { onProgress, signal, calls: context.calls }),
          defaultRegions: this.services.defaultRegions,
          accountNames: cloud.accounts.map((a) => a.name),
          readOnly: this.readOnlyReason(),
          inTransactionBlock: this.txn.inBlock,
        },
        explain,
      ),
    );
  }

  /**
   * COPY table [(columns)] FROM STDIN: one CreateResource per row, as INSERT. Everything PostgreSQL checks before it
   * asks for data is checked before CopyInResponse: the target, read-only, the columns, and (by the engine, over
   * no data) the options. The engine then parses the client's data: the COPY FROM STDIN runs into the empty table
   * with the data as CopyData, and the table's rows go to the write path.
   */
  private copyFrom(stmt: ParsedStatement, copy: CopyInfo, invocation: Invocation): Promise<Result> {
    const target = writeTarget(stmt, this.services.catalog);
    if (!target)
      throw new PgError(
        SqlState.feature_not_supported,
        'COPY FROM is only supported on the tables of AWS resource types',
        {
          hint: 'COPY into the collection table of an AWS resource type, whose rows are created as resources.',
        },
      );
    const { table } = target;
    requireMethod(table, 'INSERT', 'COPY FROM');
    const copyIn = invocation.copyIn;
    if (!copyIn)
      throw new PgError(SqlState.feature_not_supported, 'COPY FROM STDIN is not supported in this context');
    checkWritable('COPY FROM', this.readOnlyReason());
    checkAssignedColumns('insert', copy.columns, table);

    const binary = String(copy.options.format ?? '').toLowerCase() === 'binary';
    const ast = structuredClone(stmt.ast) as { CopyStmt: Record<string, unknown> };
    const body = ast.CopyStmt;
    // The table the write path reads back is the catalog's, whatever search_path made of the name.
    const relation: Record<string, unknown> = {
      ...(body.relation as Record<string, unknown>),
      schemaname: table.schema,
      relname: table.name,
    };
    delete relation.catalogname;
    body.relation = relation;
    const copySql = serializeFrontend({ type: 'Query', sql: deparseSync(ast as never) });
    // The engine takes the data as the client sent it, CopyData then CopyDone right after the COPY FROM STDIN.
    const withData = (data: Uint8Array) =>
      Buffer.concat([copySql, ...copyDataMessages(data), copyDoneMessage]);
    const selectSql = serializeFrontend({
      type: 'Query',
      sql: `SELECT * FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`,
    });
    const { cloud } = this.services;
    return this.statement(async (signal, _notices, context) => {
      const [checked] = await this.runReplies([], withData(binary ? emptyBinaryCopy : new Uint8Array()));
      // No data is a bad file only for HEADER MATCH; anything else is the statement's own error.
      if (!checked) throw new PgError(SqlState.internal_error, 'the engine returned no reply');
      if (checked.error && checked.error.code !== '22P04') throw withoutPosition(checked.error);

      const columns = copy.columns.length || table.columns.length;
      const format = binary ? 1 : 0;
      const received = await copyIn(copyInResponse(columns, format), signal);
      const csv = String(copy.options.format ?? '').toLowerCase() === 'csv';
      const data = csv ? withoutEndOfDataLine(received) : received;
      const [copied, rows] = await this.runReplies([], Buffer.concat([withData(data), selectSql]));
      if (!copied || !rows) throw new PgError(SqlState.internal_error, 'the engine returned no reply');
      if (copied.error) throw withoutPosition(copied.error);
      if (rows.error) throw rows.error;
      const result = await createCopiedRows(rows.result, table, {
        apply: (t, requests, onProgress) =>
          applyWrites(cloud, t, requests, { onProgress, signal, calls: context.calls }),
        defaultRegions: this.services.defaultRegions,
        accountNames: cloud.accounts.map((a) => a.name),
        inTransactionBlock: this.txn.inBlock,
      });
      // The engine's own notices (ON_ERROR ignore's count of skipped rows) come first.
      result.messages.unshift(...copied.result.messages);
      return result;
    });
  }

  /**
   * One statement's scope: its abort signal (cancel, statement_timeout), the notices of its fetches, and what its
   * reads carry to the Cloud Control client (its call tally, and the cache age its session accepts).
   */
  private async statement(
    run: (signal: AbortSignal, notices: Buffer[], context: ReadContext) => Promise<Result>,
  ): Promise<Result> {
    const notices: Buffer[] = [];
    const { signal, done } = this.beginStatement();
    try {
      const ttlMs = cacheTtlMs(this.settings.get(cacheTtlSetting) ?? '');
      const context: ReadContext = {
        calls: this.calls,
        ...(ttlMs === this.services.cloud.cacheTtlMs ? {} : { acceptedAgeMs: ttlMs }),
      };
      const result = await run(signal, notices, context);
      result.messages.unshift(...notices);
      return result;
    } catch (err) {
      // The cancel's own reason says why (user request or statement timeout), unless the error already
      // says more about what the cancel interrupted (writes still in flight).
      if (signal.aborted && !(err instanceof WritesCanceledError)) throw signal.reason;
      throw err;
    } finally {
      done();
    }
  }

  private load(
    stmt: ParsedStatement,
    params: ParamValues,
    signal: AbortSignal,
    notices: Buffer[],
    context: ReadContext,
  ) {
    const onNotice = (message: string) =>
      notices.push(noticeResponse({ severity: 'NOTICE', code: '00000', message }));
    const options = {
      partialResults: partialResults(this.settings.get(partialResultsSetting)),
      // 01000: PostgreSQL's plain warning.
      onWarning: (message: string) => {
        notices.push(noticeResponse({ severity: 'WARNING', code: '01000', message }));
        // Rows missing (aws.partial_results): the answer is not one to keep, however its reads were answered.
        if (context.inputs) context.inputs.unkept = true;
      },
      context,
    };
    return loadFor(
      stmt,
      params,
      this.services.catalog,
      this.services.cloud,
      onNotice,
      signal,
      (load, sql) => this.evaluate(load, sql),
      this.services.sessionRows,
      options,
    );
  }

  /** A query of the bridge's own over loaded rows (keys from another table's rows), with the session's settings. */
  private async evaluate(load: EngineUnit['load'], sql: string): Promise<(string | null)[][]> {
    const messages = serializeFrontend({ type: 'Query', sql });
    const unit: EngineUnit = { settings: this.unitSettings(), load, messages, owner: this };
    const reply = singleResult(await this.services.engine.run(unit));
    if (reply.error) throw reply.error;
    return reply.result.rows.map(dataRowTexts);
  }

  private async runUnit(load: EngineUnit['load'], messages: Buffer, replyIndex = 0): Promise<Result> {
    const reply = (await this.runReplies(load, messages))[replyIndex];
    if (!reply) throw new PgError(SqlState.internal_error, 'the engine returned no reply');
    if (reply.error) throw reply.error;
    return reply.result;
  }

  /** Runs one unit as this session's (a cancel stops it); one reply per Query or Sync in `messages`. */
  private async runReplies(
    load: EngineUnit['load'],
    messages: Buffer,
    plain = false,
    reuse?: EngineUnit['reuse'],
  ): Promise<EngineReply[]> {
    const unit: EngineUnit = {
      settings: this.unitSettings(),
      load,
      messages,
      owner: this,
      plain,
      ...(reuse ? { reuse } : {}),
    };
    this.runningUnit = unit;
    try {
      return engineReplies(await this.services.engine.run(unit));
    } finally {
      this.runningUnit = undefined;
    }
  }

  /** A fresh abort signal for one statement, armed with the session's statement_timeout. */
  private beginStatement(): { signal: AbortSignal; done: () => void } {
    this.abort = new AbortController();
    const timeoutMs = durationMs(this.settings.get('statement_timeout'));
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () =>
              this.cancel(
                new PgError(SqlState.query_canceled, 'canceling statement due to statement timeout'),
              ),
            timeoutMs,
          )
        : undefined;
    return { signal: this.abort.signal, done: () => clearTimeout(timer) };
  }

  private transaction(stmt: ParsedStatement): Result {
    const t = transactionOf(stmt);
    const warn = (message: string | undefined, result: Result) => {
      if (message) result.messages.push(noticeResponse({ severity: 'WARNING', code: '25001', message }));
      return result;
    };
    switch (t.kind) {
      case 'begin': {
        const warning = this.txn.begin(
          t.readOnly ?? ['on', 'true'].includes(this.settings.get('default_transaction_read_only') ?? ''),
        );
        if (!warning) this.settings.beginBlock();
        const started = stmt.sql.trimStart().slice(0, 5).toUpperCase() === 'START';
        return warn(warning, emptyResult(started ? 'START TRANSACTION' : 'BEGIN'));
      }
      case 'commit': {
        const { tag, warning } = this.txn.commit();
        if (tag === 'ROLLBACK') this.settings.rollbackBlock();
        else this.settings.commitBlock();
        this.cursors.endTransaction();
        return warn(warning, emptyResult(tag));
      }
      case 'rollback': {
        const { warning } = this.txn.rollback();
        this.settings.rollbackBlock();
        this.cursors.endTransaction();
        return warn(warning, emptyResult('ROLLBACK'));
      }
      case 'savepoint':
        this.txn.savepoint(t.name!);
        this.settings.savepoint(t.name!);
        return emptyResult('SAVEPOINT');
      case 'release':
        this.txn.release(t.name!);
        this.settings.release(t.name!);
        return emptyResult('RELEASE');
      case 'rollback_to':
        this.txn.rollbackTo(t.name!);
        this.settings.rollbackTo(t.name!);
        return emptyResult('ROLLBACK');
      default:
        throw new PgError(SqlState.feature_not_supported, 'two-phase commit is not supported');
    }
  }

  /** The engine checks the value; the bridge keeps what the engine made of it. */
  private async set(stmt: ParsedStatement): Promise<Result> {
    const s = setOf(stmt);
    if (s.resetAll) {
      this.settings.resetAll();
      return emptyResult('RESET');
    }
    if (s.local && !this.txn.inBlock) {
      const result = emptyResult('SET');
      result.messages.push(
        noticeResponse({
          severity: 'WARNING',
          code: '25P01',
          message: 'SET LOCAL can only be used in transaction blocks',
        }),
      );
      return result;
    }
    if (s.name === 'transaction') return this.setTransaction(s.items ?? []);
    checkBridgeSetting(s.name, s.isReset ? null : s.value);
    if (s.name === 'client_encoding') {
      // Kept by the bridge, never sent to the engine; the connection converts and reports the change.
      if (s.isReset || s.value === null) this.settings.reset(s.name);
      else this.settings.set(s.name, clientEncodingName(s.value), s.local);
      return emptyResult(s.isReset ? 'RESET' : 'SET');
    }
    if (s.name === 'session characteristics') {
      for (const item of s.items ?? []) this.settings.set(item.name, item.value, false);
      return emptyResult('SET');
    }
    const quoted = s.name.replace(/'/g, "''");
    const messages = Buffer.concat([
      serializeFrontend({ type: 'Query', sql: stmt.sql }),
      serializeFrontend({ type: 'Query', sql: `SELECT current_setting('${quoted}', true)` }),
    ]);
    const [applied, readBack] = engineReplies(
      await this.services.engine.run({ settings: this.unitSettings(), load: [], messages }),
    );
    if (!applied || !readBack) throw new PgError(SqlState.internal_error, 'the engine returned no reply');
    if (applied.error) throw applied.error;
    if (s.name === 'transaction_read_only') {
      if (this.txn.inBlock) this.txn.readOnly = !s.isReset && ['on', 'true'].includes(s.value ?? '');
    } else if (s.isReset || s.value === null) this.settings.reset(s.name);
    else if (!isTransactionCharacteristic(s.name)) {
      const value = readBack.result.rows[0] ? dataRowText(readBack.result.rows[0]) : null;
      if (value !== null) applied.result.messages.push(...this.keepSetting(s.name, value, s.local));
    }
    applied.result.tag ??= s.isReset ? 'RESET' : 'SET';
    return applied.result;
  }

  /**
   * SET TRANSACTION: the engine cannot take it (each unit has run a query before the client's statement), and
   * isolation means nothing for live reads; READ ONLY is kept, since it refuses writes.
   */
  private setTransaction(items: { name: string; value: string }[]): Result {
    const result = emptyResult('SET');
    if (!this.txn.inBlock) {
      result.messages.push(
        noticeResponse({
          severity: 'WARNING',
          code: '25P01',
          message: 'SET TRANSACTION can only be used in transaction blocks',
        }),
      );
      return result;
    }
    for (const item of items)
      if (item.name === 'transaction_read_only')
        this.txn.readOnly = item.value === 'on' || item.value === 'true';
    return result;
  }

  /** Why this session cannot write now, if it cannot. */
  private readOnlyReason(): string | undefined {
    if (this.services.readOnly) return 'read-only mode';
    if (this.inReadOnlyTransaction()) return 'a read-only transaction';
    return undefined;
  }

  private inReadOnlyTransaction(): boolean {
    return this.txn.inBlock ? this.txn.readOnly : this.settings.get('default_transaction_read_only') === 'on';
  }

  private prepare(stmt: ParsedStatement): Result {
    const p = prepareOf(stmt);
    if (this.prepared.has(p.name))
      throw new PgError(
        SqlState.duplicate_prepared_statement,
        `prepared statement "${p.name}" already exists`,
      );
    this.prepared.set(p.name, { prepareSql: stmt.sql, query: p.query });
    return emptyResult('PREPARE');
  }

  /** EXECUTE name(args): the PREPARE runs again in the same unit, then the EXECUTE. */
  private executePrepared(stmt: ParsedStatement): Promise<Result> {
    const e = executeOf(stmt);
    const p = this.prepared.get(e.name);
    if (!p)
      throw new PgError(SqlState.invalid_sql_statement_name, `prepared statement "${e.name}" does not exist`);
    if (!runsInEngine(p.query))
      throw new PgError(
        SqlState.feature_not_supported,
        `EXECUTE of a prepared ${p.query.kind.toUpperCase()} is not supported`,
        {
          hint: 'Run the statement itself, or prepare it with the extended query protocol (a driver parameter).',
        },
      );
    const both = () =>
      Buffer.concat([
        serializeFrontend({ type: 'Query', sql: p.prepareSql }),
        serializeFrontend({ type: 'Query', sql: stmt.sql }),
      ]);
    const invocation: Invocation = {
      params: e.values,
      messages: both,
      resultMessages: both,
      runsMore: true,
    };
    return this.inEngine({ ...p.query, sql: stmt.sql }, invocation, 1);
  }

  private async declare(stmt: ParsedStatement, invocation: Invocation): Promise<Result> {
    const d = declareOf(stmt);
    if (!d.hold && !this.txn.inBlock)
      throw new PgError('25P01', 'DECLARE CURSOR can only be used in transaction blocks');
    // The cursor's rows are fetched later, maybe in another protocol: keep them in text format. The Bind's
    // parameters (postgres_fdw's `DECLARE c1 CURSOR FOR ... WHERE region = $1`) belong to the query.
    const result = await this.inEngine(d.query, {
      ...invocation,
      messages: (sql) => invocation.messages(sql, 'text'),
      // In text whatever the client's result formats: not the answer a SELECT of the same text would keep.
      resultKey: undefined,
      formats: undefined,
    });
    this.cursors.declare(d.name, new Cursor(result, d.hold));
    const declared = emptyResult('DECLARE CURSOR');
    declared.messages = result.messages;
    return declared;
  }

  private async fetch(stmt: ParsedStatement): Promise<Result> {
    const f = fetchOf(stmt);
    const cursor = await this.cursorNamed(f.name);
    const count = f.count === 'all' ? Number.MAX_SAFE_INTEGER : f.count;
    const rows = cursor.fetch(f.direction, count);
    if (f.move) return emptyResult(`MOVE ${rows.length}`);
    return { ...emptyResult(`FETCH ${rows.length}`), description: cursor.result.description, rows };
  }

  /** A DECLAREd cursor, else a named protocol portal; 34000 when neither exists. */
  private async cursorNamed(name: string): Promise<Cursor> {
    return this.cursors.find(name) ?? (await this.portals?.cursor(name)) ?? this.cursors.get(name);
  }

  private discard(stmt: ParsedStatement): Result {
    const { target } = discardOf(stmt);
    if (target === 'all') {
      if (this.txn.inBlock) throw new PgError('25001', 'DISCARD ALL cannot run inside a transaction block');
      this.settings.resetAll();
      this.prepared.clear();
      this.cursors.close(null);
      this.portals?.close(null);
    }
    return emptyResult(`DISCARD ${target.toUpperCase()}`);
  }
}

/** Descriptions a session keeps: enough for an application's statements, bounded for one that builds them. */
const MAX_DESCRIPTIONS = 256;

/** Statements the engine can Describe: those that run there. */
export function runsInEngine(stmt: ParsedStatement): boolean {
  return ['select', 'show', 'explain', 'copy', 'other'].includes(stmt.kind);
}

/**
 * Statements the engine can Describe: those that run there, and writes, which the engine describes over the
 * catalog's tables as PostgreSQL would (their $n types, and RETURNING's row).
 */
function describedByEngine(stmt: ParsedStatement): boolean {
  return runsInEngine(stmt) || ['insert', 'update', 'delete'].includes(stmt.kind);
}

function isTransactionCharacteristic(name: string): boolean {
  return name.startsWith('transaction_') || name === 'session_characteristics';
}

/**
 * Settings whose changes PostgreSQL reports with ParameterStatus (GUC_REPORT), by lower-cased name. The engine
 * runs each unit in a session of its own and reports nothing the client can use, so the bridge does.
 */
const REPORTED_SETTINGS: Record<string, string> = {
  application_name: 'application_name',
  datestyle: 'DateStyle',
  intervalstyle: 'IntervalStyle',
  timezone: 'TimeZone',
  default_transaction_read_only: 'default_transaction_read_only',
  standard_conforming_strings: 'standard_conforming_strings',
};

/** A string literal whatever standard_conforming_strings the session has set. */
function quoteLiteral(text: string): string {
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes('\\') ? `E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/** The value of a one-column text DataRow. */
function dataRowText(frame: Buffer): string | null {
  const length = frame.readInt32BE(7);
  return length < 0 ? null : frame.subarray(11, 11 + length).toString('utf8');
}

/** A GUC duration as current_setting shows it ('0', '250ms', '5s', '2min', '1h', '1d') in milliseconds. */
function durationMs(value: string | undefined): number {
  const m = value && /^(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?$/.exec(value.trim());
  if (!m) return 0;
  const unit = { ms: 1, s: 1000, min: 60000, h: 3600000, d: 86400000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * The catalog says which statements each table serves (its methods, as in the user's spec): INSERT and DELETE
 * go to the collection table, SELECT and UPDATE to both. Anything else is refused with the table that serves it.
 */
function requireMethod(table: ResourceTable, verb: SqlVerb, statement: string = verb): void {
  if (table.methods.some((m) => m.verb === verb)) return;
  const other = table.resource.tables.find((t) => t.methods.some((m) => m.verb === verb));
  // No table of the type serves it: the type lacks the handler (registry schema `handlers`).
  const handler = { INSERT: 'create', UPDATE: 'update', DELETE: 'delete', SELECT: 'read' }[verb];
  const reason = other
    ? ''
    : `: ${table.resource.typeName} has no ${handler} handler, so Cloud Control cannot ${handler} its resources`;
  throw new PgError(
    SqlState.feature_not_supported,
    `${statement} is not supported on ${table.schema}.${table.name}${reason}`,
    {
      hint: other
        ? `Use ${other.schema}.${other.name}, which serves ${verb} through its ${other.methods.find((m) => m.verb === verb)!.operation} method.`
        : undefined,
    },
  );
}

/**
 * psql before 18 ends COPY FROM STDIN data with a `\.` line, and servers before 18 took it as the end of CSV
 * data too; PostgreSQL 18 (the engine) reads it as a row. Older clients are the common case, so drop it.
 */
function withoutEndOfDataLine(data: Uint8Array): Uint8Array {
  const tail = Buffer.from(data.subarray(Math.max(0, data.length - 5))).toString('latin1');
  const match = /(^|\n)\\\.\r?\n?$/.exec(tail);
  return match ? data.subarray(0, data.length - tail.length + match.index + match[1]!.length) : data;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A position in the rewritten statement means nothing in the client's. */
function withoutPosition(err: EngineError): EngineError {
  return err.errorFields.position === undefined
    ? err
    : new EngineError({ ...err.errorFields, position: undefined });
}

/** A binary COPY file with no rows (signature, flags, header extension length, trailer). */
const copyDoneMessage = serializeFrontend({ type: 'CopyDone' });

/** COPY data as CopyData messages of at most 1 MB, as clients send it. */
function copyDataMessages(data: Uint8Array): Buffer[] {
  const chunk = 1024 * 1024;
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk)
    out.push(serializeFrontend({ type: 'CopyData', data: Buffer.from(data.subarray(at, at + chunk)) }));
  return out;
}

const emptyBinaryCopy = new Uint8Array([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
]);
