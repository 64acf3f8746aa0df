import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite as PGliteType } from '@electric-sql/pglite';
import {
  concat,
  extendedBatch,
  firstError,
  firstValue,
  lastReadyStatus,
  simpleQuery,
  syncMessage,
} from './frames.js';
import type {
  ErrorFields,
  FromWorker,
  OpenRequest,
  ReuseOutcome,
  ToWorker,
  UnitRequest,
  WorkerData,
} from './messages.js';
import {
  CancelControl,
  wasm,
  withSharedMemoryImport,
  type WasmApi,
  type WasmMemory,
  type WasmMemoryDescriptor,
} from './shared-memory.js';
import { dataDir, tarOf, untarShared, type EmscriptenFs } from './data-dir.js';
import { ReusedPlans, asQueryReply, executeKept } from './reused-plans.js';

const port = parentPort!;
const data = workerData as WorkerData;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** PGlite's memory: 32768 pages at most (see its own `new WebAssembly.Memory`). */
const PGLITE_MAX_PAGES = 32768;
// The worker starts before the main thread has its template: what to open is the first message (queued until this
// listener is added, so it is not missed while PGlite loads).
const opening =
  data.mode === 'open' ? new Promise<OpenRequest>((resolve) => port.once('message', resolve)) : undefined;
let backendMemory: WasmMemory | undefined;

if (data.mode === 'open') {
  // PGlite creates its memory itself: have that one memory made shared (see shared-memory.ts).
  const NativeMemory = wasm.Memory;
  const SharedMemory = function (descriptor: WasmMemoryDescriptor) {
    if (descriptor.maximum !== PGLITE_MAX_PAGES) return new NativeMemory(descriptor);
    backendMemory = new NativeMemory({ ...descriptor, shared: true });
    return backendMemory;
  } as unknown as WasmApi['Memory'];
  SharedMemory.prototype = NativeMemory.prototype;
  wasm.Memory = SharedMemory;
  // The libraries PGlite loads at run time (plpgsql, ...) import that memory too: declare theirs shared as well.
  const shared = (source: unknown) =>
    ArrayBuffer.isView(source) || source instanceof ArrayBuffer
      ? (withSharedMemoryImport(
          ArrayBuffer.isView(source)
            ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
            : new Uint8Array(source),
        ) ?? source)
      : source;
  const NativeModule = wasm.Module;
  const SharedModule = function (bytes: Uint8Array) {
    return new NativeModule(shared(bytes) as Uint8Array);
  } as unknown as WasmApi['Module'];
  SharedModule.prototype = NativeModule.prototype;
  // Its statics too (customSections, imports, exports), which emscripten's loader calls.
  Object.setPrototypeOf(SharedModule, NativeModule);
  wasm.Module = SharedModule;
  const instantiate = wasm.instantiate;
  wasm.instantiate = (source, imports) => instantiate(shared(source), imports);
  // TextDecoder refuses views of shared memory; emscripten decodes strings straight from the heap.
  const proto = TextDecoder.prototype as { decode(input?: unknown, options?: unknown): string };
  const decode = proto.decode;
  proto.decode = function (this: unknown, input?: unknown, options?: unknown) {
    if (ArrayBuffer.isView(input) && input.buffer instanceof SharedArrayBuffer)
      input = new Uint8Array(input.buffer, input.byteOffset, input.byteLength).slice();
    return decode.call(this, input, options);
  };
}

const { PGlite, MemoryFS } = await import('@electric-sql/pglite');
type PGlite = PGliteType;

if (data.mode === 'open') {
  // PGlite.create ends by reading every array type of pg_type into JS parsers for its query() API. The engine
  // speaks the raw protocol only; with every type that read was 2,600 rows: 0.5 to 1 s of each engine's open
  // (load 13) and 35 MB of its memory.
  (PGlite.prototype as unknown as { _initArrayTypes(): Promise<void> })._initArrayTypes = async () => {};
}

function errorFields(err: unknown): ErrorFields {
  // V8's own stack overflow inside the backend's WASM: PostgreSQL's check (max_stack_depth, on the WASM shadow
  // stack) normally fires first, since the worker's native stack is sized well above it (thread.ts).
  if (err instanceof RangeError && /call stack/i.test(err.message))
    return { code: '54001', message: 'stack depth limit exceeded' };
  const e = err as { code?: string; message?: string; detail?: string; hint?: string; position?: string };
  return {
    code: typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : 'XX000',
    message: e.message ?? String(err),
    detail: e.detail,
    hint: e.hint,
    position: e.position ? Number(e.position) : undefined,
  };
}

/**
 * Builds the template in memory and returns it as a tar of the data dir: nothing touches the disk. Each
 * engine loads this tar into memory, so it is kept small: 1 MB WAL segments instead of 16 MB, and only the
 * database `aws` (template0, template1 and postgres served nothing: clients can only connect to `aws` and cannot
 * create databases). 15 MB instead of 46 MB.
 */
async function buildTemplate(ddl: string, setup: string, maintenance: string[]): Promise<ArrayBuffer> {
  const init = await PGlite.create({ dataDir: 'memory://', initDbStartParams: ['--wal-segsize=1'] });
  await init.exec('CREATE DATABASE aws');
  const initial = await init.dumpDataDir('none');
  await init.close();
  const db = await PGlite.create({
    dataDir: 'memory://',
    database: 'aws',
    loadDataDir: initial,
    postgresqlconf: engineConf,
  });
  await db.exec(ddl);
  await db.exec(setup);
  for (const name of ['template0', 'template1']) await db.exec(`ALTER DATABASE ${name} IS_TEMPLATE false`);
  for (const name of ['template0', 'template1', 'postgres']) await db.exec(`DROP DATABASE ${name}`);
  for (const statement of maintenance) await db.exec(statement);
  // The checkpoint leaves the WAL short, so each engine loads (and keeps in memory) less of it.
  await db.exec('CHECKPOINT');
  const fs = (db as unknown as { mod: { FS: EmscriptenFs } }).mod.FS;
  // A clean shutdown (its checkpoint, and pg_control saying so): an engine opened from it starts without recovery.
  await db.close();
  dropRecycledWal(fs);
  const tar = tarOf(fs, dataDir);
  return tar.buffer.slice(tar.byteOffset, tar.byteOffset + tar.byteLength) as ArrayBuffer;
}

/**
 * The checkpoints recycle the segments the DDL filled into future ones (renamed, their old contents kept), as
 * many as their estimate of the WAL per checkpoint: 32 of 1 MB for every type's DDL, a third of the tar. Nothing
 * reads them: the next WAL goes to the current segment and the backend creates the next one when it needs it.
 * Only the segments up to the one holding the shutdown checkpoint (pg_control's checkPoint) stay.
 */
function dropRecycledWal(fs: EmscriptenFs): void {
  const control = fs.readFile(`${dataDir}/global/pg_control`);
  const view = new DataView(control.buffer, control.byteOffset, control.byteLength);
  // ControlFileData: system_identifier, pg_control_version, catalog_version_no, state, time, then checkPoint;
  // checkPointCopy (redo, then ThisTimeLineID) follows it.
  const checkpoint = view.getBigUint64(32, true);
  const timeline = view.getUint32(48, true);
  const segment = checkpoint / BigInt(walSegmentBytes);
  const perId = 0x1_0000_0000n / BigInt(walSegmentBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  const current = `${hex(timeline)}${hex(segment / perId)}${hex(segment % perId)}`;
  if (!fs.readdir(walDir).includes(current))
    throw new Error(`the template's checkpoint is in WAL segment ${current}, which is missing`);
  for (const name of fs.readdir(walDir)) {
    if (/^[0-9A-F]{24}$/.test(name) && name > current) fs.unlink(`${walDir}/${name}`);
  }
}

/** initdb --wal-segsize=1 above. */
const walSegmentBytes = 1024 * 1024;
const walDir = `${dataDir}/pg_wal`;

function quoteTable(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new UnitError({ code: '42602', message: `invalid table name "${name}"` });
  }
  return parts.map((p) => `"${p.replaceAll('"', '""')}"`).join('.');
}

class UnitError extends Error {
  constructor(readonly fields: ErrorFields) {
    super(fields.message);
  }
}

/**
 * The unit's own statements go through the raw protocol: PGlite's query()/exec() cost ~0.4 ms a call in
 * bookkeeping, ten times the statement itself. Through the raw stream, as the client's messages: its
 * execProtocolRawSync without a stream also parses every reply into JavaScript messages (PGlite's own result
 * collector), about 0.1 ms of each unit's CPU for replies nobody reads.
 */
async function execRaw(db: PGlite, messages: Uint8Array): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await db.execProtocolRawStream(messages, {
    syncToFs: false,
    // A view of the backend's memory, reused for the next chunk.
    onRawData: (c) => void chunks.push(c.slice()),
  });
  return chunks.length === 1 ? chunks[0]! : concat(chunks);
}

/** execRaw, failing with the reply's first error. */
async function exec(db: PGlite, messages: Uint8Array): Promise<Uint8Array> {
  const reply = await execRaw(db, messages);
  const error = firstError(reply);
  if (error) throw new UnitError(error);
  return reply;
}

/** set_config of each setting, for the unit's transaction (its rollback reverts them). */
function settingsSql(settings: [string, string][], planMode?: string): string {
  const calls = settings.map(([name, value]) => {
    // A NUL would end the Query's text early, as it cannot be in a text parameter either.
    if (`${name}${value}`.includes('\0'))
      throw new UnitError({ code: '22021', message: 'invalid byte sequence for encoding "UTF8": 0x00' });
    return `set_config(${escapedLiteral(name)}, ${escapedLiteral(value)}, false)`;
  });
  // After the client's own plan_cache_mode, if it set one: for this transaction only.
  if (planMode) calls.push(`set_config('plan_cache_mode', '${planMode}', true)`);
  return `SELECT ${calls.join(', ')}`;
}

/** An E'' literal: the same whatever standard_conforming_strings a session set. */
const escapedLiteral = (text: string) => `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * What a rollback does not undo, as DISCARD ALL clears it (prepared statements, WITH HOLD cursors, advisory locks,
 * LISTEN, temp tables, session SETs issued after the transaction ended), but without DISCARD ALL's reset of the
 * session user, which the client role's lock forbids.
 */
const cleanupSql =
  'CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP; RESET ALL';

interface Backend {
  db: PGlite;
  control: CancelControl;
  /** Clears a raised interrupt the backend did not take. */
  clearInterrupt(): void;
  /** Runs housekeeping as the superuser, then returns to the locked client role. */
  asSuperuser<T>(run: () => Promise<T>): Promise<T>;
}

/**
 * Opens a unit's transaction when the unit arrives, not ahead of it: now() and CURRENT_TIMESTAMP are the
 * transaction's start, which must not be older than the client's statement. Its first row is the next xid the
 * backend will assign, the unit's horizon: whatever the unit commits has an xid at or above it (see
 * committedSince). Read from the snapshot rather than by assigning the unit an xid (pg_current_xact_id()): a
 * read-only unit then never gets one, and its rollback writes nothing (no abort record in the WAL).
 */
const beginUnit = simpleQuery('BEGIN; SELECT pg_snapshot_xmax(pg_current_snapshot())');

/** The settings and every table's rows, after the BEGIN in the same trip into the backend. */
function unitPrelude(unit: UnitRequest, planMode?: string): Uint8Array[] {
  // The settings as literals in a simple Query: a third cheaper than binding arrays to an unnest (measured 0.14
  // vs 0.19 ms with one row loaded).
  const parts: Uint8Array[] = [];
  if (unit.settings.length > 0 || planMode) parts.push(simpleQuery(settingsSql(unit.settings, planMode)));
  const statements: { sql: string; params: string[] }[] = [];
  for (const { table, json, rows, runs } of unit.load) {
    const t = quoteTable(table);
    statements.push(
      runs === undefined
        ? {
            sql: `INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)`,
            params: [json],
          }
        : // Each run's row, repeated where it stands: the heap holds the rows in the order they were listed.
          {
            sql:
              `INSERT INTO ${t} SELECT r.* FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(value, i) ` +
              `CROSS JOIN LATERAL jsonb_populate_record(NULL::${t}, e.value) AS r ` +
              `CROSS JOIN LATERAL generate_series(1, ($2::int[])[e.i])`,
            params: [json, runs],
          },
    );
    deadRows.set(t, (deadRows.get(t) ?? 0) + rows);
  }
  if (statements.length > 0) parts.push(extendedBatch(statements));
  return parts;
}

/**
 * A unit's critical path is its settings, its rows and the client's messages; everything else happens after its
 * answer is posted, while the main thread sends that answer and the session prepares its next statement: the
 * rollback, the check that nothing got committed, the cleanup and housekeeping. The engine
 * gives the worker no other unit before 'settled' (engine.ts), so no unit ever sees what another left.
 */
async function runUnit(backend: Backend, unit: UnitRequest): Promise<void> {
  const { db, control } = backend;
  const rollback = await lazyRollbackFirst(backend);
  // Messages that are not plain may name statements of their own: none of the worker's may be there (nor stay).
  const deallocate = !unit.plain && plans.size > 0 ? [deallocateAll] : [];
  if (deallocate.length > 0) plans.clear();
  const reuse = unit.reuse && unit.plain ? plans.lookup(unit.reuse) : undefined;
  const planMode = reuse && !reuse.refused ? ReusedPlans.planMode(reuse.kept) : undefined;
  let prelude: Uint8Array[] = [];
  let refused: ErrorFields | undefined;
  try {
    // The reused statement's plan_cache_mode goes with the settings (reused-plans.ts).
    prelude = unitPrelude(unit, planMode);
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    refused = err.fields;
  }
  // The transaction, the settings and every table's rows in one trip into the backend. A failed setting aborts
  // the transaction, so the loads after it fail too; the first error is the setting's.
  const opened = await execRaw(db, concat([...rollback, ...deallocate, beginUnit, ...prelude]));
  const horizon = firstValue(opened);
  if (horizon === undefined)
    throw new UnitError(firstError(opened) ?? { code: 'XX000', message: 'BEGIN failed' });
  const xid = BigInt(horizon);
  const failed = refused ?? firstError(opened);
  if (failed) {
    post({ type: 'error', id: unit.id, error: failed });
    await goAhead(unit.id);
    await settle(backend, unit.id, xid, false);
    return;
  }

  let out: Uint8Array | undefined;
  let outcome: ReuseOutcome | undefined = reuse?.refused ? 'refused' : undefined;
  try {
    // A unit cancelled while it loaded skips the client's messages: its caller has been answered already.
    if (control.enter(unit.id)) {
      if (unit.timed) post({ type: 'started', id: unit.id });
      if (reuse && planMode && unit.reuse)
        ({ out, outcome } = await runReused(backend, unit, reuse.key, planMode));
      // The raw stream hands the bytes over untouched; execProtocolRaw would also parse every row for nothing.
      out ??= await execRaw(db, unit.messages);
    }
  } finally {
    control.settle(unit.id, backend.clearInterrupt);
  }
  out ??= new Uint8Array(0);
  if (lastReadyStatus(out) === undefined) await execRaw(db, syncMessage);
  const bytes = out.buffer.byteLength === out.byteLength ? (out.buffer as ArrayBuffer) : out.slice().buffer;
  if (unit.plain) {
    post({ type: 'result', id: unit.id, bytes, lazy: true, ...(outcome ? { reuse: outcome } : {}) }, [bytes]);
    rollBackLater(backend);
    return;
  }
  post({ type: 'result', id: unit.id, bytes }, [bytes]);
  await goAhead(unit.id);
  await settle(backend, unit.id, xid, true);
}

/** The worker's prepared statements for plain units (reused-plans.ts). */
const plans = new ReusedPlans();
const deallocateAll = simpleQuery('DEALLOCATE ALL');

/**
 * Runs a plain unit's statement as its prepared statement (prepared first if new), with the unit's values, and says
 * what became of it (metrics). No `out` when the unit's own Query must run instead, in a transaction as the unit
 * opened it: the engine did not accept the statement with parameters, or the execution failed (the Query gives the
 * error the client would have had from the text, position included). A cancel's 57014 is the answer as it is.
 */
async function runReused(
  backend: Backend,
  unit: UnitRequest,
  key: string,
  planMode: string,
): Promise<{ out?: Uint8Array; outcome?: ReuseOutcome }> {
  const { db } = backend;
  const plan = unit.reuse!;
  let kept = plans.entry(key);
  let outcome: ReuseOutcome | undefined;
  if (!kept) {
    const { name, messages } = plans.prepare(key, plan);
    const described = await execRaw(db, messages);
    const error = firstError(described);
    if (error?.code === '57014') {
      plans.forget(key);
      return { out: described };
    }
    if (error || !plans.accepted(key, plan, described)) {
      if (error) plans.refuse(key);
      return { out: await reopen(backend, unit), outcome: 'refused' };
    }
    outcome = 'prepared';
    kept = plans.entry(key) ?? { name, genericRuns: 0 };
  }
  const started = performance.now();
  const reply = await execRaw(db, executeKept(kept.name, plan));
  const error = firstError(reply);
  if (error?.code === '57014') return { out: reply, outcome };
  if (error) {
    // Gone without the worker knowing (it should not be): prepared again next time.
    if (error.code === '26000') plans.forget(key);
    return { out: await reopen(backend, unit), outcome };
  }
  plans.timed(kept, planMode, performance.now() - started);
  return { out: asQueryReply(reply), outcome: outcome ?? 'reused' };
}

/**
 * Rolls back what failed and opens the unit's transaction again, with its settings: its Query runs next. A cancel
 * that stopped this (it runs where the client's messages do) is the unit's answer.
 */
async function reopen(backend: Backend, unit: UnitRequest): Promise<Uint8Array | undefined> {
  const reply = await execRaw(backend.db, concat([rollbackQuery, beginUnit, ...unitPrelude(unit)]));
  const error = firstError(reply);
  if (error?.code === '57014') return reply;
  if (error) throw new UnitError(error);
  return undefined;
}

/**
 * A plain unit (UnitRequest.plain) whose answer went out is still open: it cannot have committed, and nothing it
 * did outlives its ROLLBACK, so it needs neither the commit check nor the cleanup, and the engine has sent the next
 * unit without waiting for a 'settle' go-ahead. Its ROLLBACK goes with the next unit's BEGIN, in the same trip into
 * the backend; if no unit comes within IDLE_ROLLBACK_MS, it runs on its own with the housekeeping, while the main
 * thread has long sent the answer (so it does not take the CPU that sending needs).
 */
let openPlainUnit = false;
let idleRollback: NodeJS.Timeout | undefined;
const IDLE_ROLLBACK_MS = 10;
/** Set by serve(): the worker's queue of messages, which the idle rollback joins so it never overlaps a unit. */
let enqueue: (work: () => Promise<void>) => void = () => {};

function rollBackLater(backend: Backend): void {
  openPlainUnit = true;
  clearTimeout(idleRollback);
  idleRollback = setTimeout(() => enqueue(() => rollBackNow(backend)), IDLE_ROLLBACK_MS);
}

/** Rolls back an open plain unit, then keeps house; a failure is the backend's, as a settle's would be. */
async function rollBackNow(backend: Backend): Promise<void> {
  clearTimeout(idleRollback);
  if (!openPlainUnit) return;
  openPlainUnit = false;
  await exec(backend.db, rollbackQuery);
  await keepHouse(backend);
}

const rollbackQuery = simpleQuery('ROLLBACK');

/**
 * Before a unit: the messages that close the open plain unit, if any, to go ahead of its BEGIN. When housekeeping is
 * due (every 20th unit, a table with enough dead rows), the rollback and the housekeeping run first, on their own.
 */
async function lazyRollbackFirst(backend: Backend): Promise<Uint8Array[]> {
  clearTimeout(idleRollback);
  if (!openPlainUnit) return [];
  if (maintenanceDue()) {
    await rollBackNow(backend);
    return [];
  }
  openPlainUnit = false;
  unitsSinceVacuum++;
  return [rollbackQuery];
}

/**
 * The main thread's go-ahead to settle a unit whose answer went out ('settle'): measured on 2 busy cores, a worker
 * that rolled back at once took the CPU the main thread needed to send that answer (the answer's hop back to the
 * session went from 0.15 to 0.6 ms). The go-ahead comes once the session has sent the answer on.
 */
const goAheads = new Map<number, () => void>();
const earlyGoAheads = new Set<number>();

function goAhead(id: number): Promise<void> {
  if (earlyGoAheads.delete(id)) return Promise.resolve();
  return new Promise((resolve) => goAheads.set(id, resolve));
}

function goAheadReceived(id: number): void {
  const resolve = goAheads.get(id);
  if (!resolve) return void earlyGoAheads.add(id);
  goAheads.delete(id);
  resolve();
}

/**
 * After the unit's answer: rolls its transaction back, says whether anything got committed, clears what a rollback
 * does not (only the client's messages can leave any), in one trip into the backend; then keeps house.
 */
async function settle(backend: Backend, id: number, horizon: bigint, clientRan: boolean): Promise<void> {
  const { db } = backend;
  const check = await exec(
    db,
    simpleQuery(`ROLLBACK; ${committedSince(horizon)}${clientRan ? `; ${cleanupSql}` : ''}`),
  );
  const tainted = firstValue(check) !== '0';
  // The cleanup's DEALLOCATE ALL (none of the worker's were there: runUnit deallocated them before).
  if (clientRan) plans.clear();
  await keepHouse(backend);
  post({ type: 'settled', id, tainted });
}

async function keepHouse(backend: Backend): Promise<void> {
  try {
    await backend.asSuperuser(() => maintain(backend.db));
  } catch {
    // Housekeeping only: a failed VACUUM or CHECKPOINT leaves the units correct, just slower.
  }
}

/**
 * How many transactions with an xid at or after the unit's horizon (the next xid at its BEGIN) committed: a
 * COMMIT in the messages of a unit that wrote, or a write after one (subtransactions of the rolled-back unit are
 * aborted with it, so they do not count). A unit that wrote nothing was assigned no xid: the next xid is still the
 * horizon, and nothing is scanned. One that wrote (rows loaded, a write statement) usually got just one: its status
 * says it.
 */
function committedSince(horizon: bigint): string {
  const xmax = 'pg_snapshot_xmax(pg_current_snapshot())::text::bigint';
  return `SELECT CASE WHEN ${xmax} = ${horizon} THEN 0
    WHEN ${xmax} = ${horizon + 1n} THEN (pg_xact_status('${horizon}'::xid8) = 'committed')::int
    ELSE (SELECT count(*) FROM generate_series(${horizon}, ${xmax} - 1) AS g(x)
          WHERE pg_xact_status(x::text::xid8) = 'committed') END`;
}

/*
 * A single-user backend has no autovacuum and never checkpoints on its own (only a postmaster asks for it).
 * Rolled-back rows stay in the heap until a VACUUM (measured: 330 units of 1,000 rows grew the table to 90 MB
 * and a count(*) over it to 12 ms), and the WAL grows without bound, in memory since the data dir is. So the
 * worker vacuums a table once enough rows died in it, the whole database (catalog bloat, the client's own writes)
 * every few thousand units, and checkpoints when the WAL has grown. It runs after the reply was posted, before the
 * next unit.
 * (TRUNCATE in the unit would avoid the dead rows, but costs 2-6 ms a unit in file creation and invalidations.)
 */
const vacuumTableAfterRows = 5000;
const vacuumAllAfterUnits = 5000;
const checkpointAfterWalBytes = 16 * 1024 * 1024;
const deadRows = new Map<string, number>();
let unitsSinceVacuum = 0;
let lastCheckpointLsn = '0/0';
const walCheckEveryUnits = 20;

/** Whether maintain() after one more unit would do anything beyond counting it. */
function maintenanceDue(): boolean {
  const units = unitsSinceVacuum + 1;
  if (units >= vacuumAllAfterUnits || units % walCheckEveryUnits === 0) return true;
  for (const rows of deadRows.values()) if (rows >= vacuumTableAfterRows) return true;
  return false;
}

async function maintain(db: PGlite): Promise<void> {
  if (++unitsSinceVacuum >= vacuumAllAfterUnits) {
    unitsSinceVacuum = 0;
    deadRows.clear();
    await exec(db, simpleQuery('VACUUM'));
  }
  for (const [table, rows] of deadRows) {
    if (rows < vacuumTableAfterRows) continue;
    deadRows.delete(table);
    await exec(db, simpleQuery(`VACUUM ${table}`));
  }
  if (unitsSinceVacuum % walCheckEveryUnits !== 0) return;
  const wal = `pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '${lastCheckpointLsn}')::bigint`;
  const [grown, lsn] = firstValue(
    await exec(db, simpleQuery(`SELECT ${wal} || ' ' || pg_current_wal_insert_lsn()`)),
  )!.split(' ');
  if (Number(grown) >= checkpointAfterWalBytes) {
    await exec(db, simpleQuery('CHECKPOINT'));
    lastCheckpointLsn = lsn;
  }
}

/**
 * The data dir lives in memory and is thrown away: durability buys nothing, and full-page images only bloat the
 * WAL. A small min_wal_size keeps a checkpoint from holding recycled segments in memory.
 * work_mem: pgjdbc's getColumns over every table sorts 36,684 rows twice (12.6 MB each): at the default 4 MB both
 * spilled to temp files (in memory here anyway) and the statement took 20 to 30% more CPU. A client's SET still wins.
 */
const engineConf = [
  'full_page_writes = off',
  'fsync = off',
  'min_wal_size = 2MB',
  'max_wal_size = 32MB',
  'work_mem = 16MB',
];

/**
 * An engine's buffer pool, smaller than PGlite's 128 MB, which the backend touches whole at its start: the data
 * dir is in memory already, so a page outside the pool is a copy away, not a read from disk. 32 MB holds every
 * type's catalogs (27 MB). Measured with 2 engines: 401 MB RSS after the start instead of 640 MB with every type,
 * 359 instead of 566 MB with one; point units, a catalog query over every table and a 10,000-row load no slower
 * (docs/ENGINE.md). Not for the template build, which writes the catalogs of every table at once.
 */
const engineBuffers = 'shared_buffers = 32MB';

/** emscripten's SECURITY_LOCAL_USERID_CHANGE: PostgreSQL refuses SET ROLE / SET SESSION AUTHORIZATION under it. */
const SECURITY_LOCAL_USERID_CHANGE = 1;

interface BackendModule {
  _SetUserIdAndSecContext(userId: number, context: number): void;
  _QueryCancelPending: number;
  _InterruptPending: number;
}

/**
 * An in-memory data dir filled from the template tar before the backend starts, which PGlite then opens as an
 * existing database. PGlite's own loadDataDir copies the tar twice more and looks up every parent directory of
 * every file (7,800 files for every type: most of an engine's open); here each file's contents are a view of the
 * tar the main thread shares with every engine, copied only when written (see data-dir.ts).
 */
class TemplateFS extends MemoryFS {
  constructor(private readonly tar: Uint8Array) {
    super();
  }

  override async initialSyncFs(): Promise<void> {
    const fs = (this.pg as unknown as { mod: { FS: EmscriptenFs } }).mod.FS;
    untarShared(fs, this.tar, dataDir);
  }
}

async function serve(spec: Extract<WorkerData, { mode: 'open' }>): Promise<void> {
  const { template, module } = await opening!;
  const db = await PGlite.create({
    // In memory: the rows a unit loads (connector credentials among them) never reach a file. The files'
    // contents are views of the tar shared by every engine of the process until written.
    fs: new TemplateFS(new Uint8Array(template)),
    database: 'aws',
    pgliteWasmModule: module,
    postgresqlconf: [...engineConf, engineBuffers],
  });
  const mod = (db as unknown as { mod: BackendModule }).mod;
  const memory = backendMemory;
  if (!memory || !(memory.buffer instanceof SharedArrayBuffer))
    throw new Error('the engine backend memory is not shared');
  const heap = new Uint8Array(memory.buffer);
  const flags = { queryCancelPending: mod._QueryCancelPending, interruptPending: mod._InterruptPending };

  // pg_sleep (and any other wait) spins on the clock in PGlite, checking interrupts only when its timeout
  // expires: while a cancel is pending the clock jumps ahead, so the wait ends and the check runs.
  const now = performance.now.bind(performance);
  let skew = 0;
  performance.now = () => {
    if (heap[flags.queryCancelPending]) skew += 3_600_000;
    return now() + skew;
  };

  const version = firstValue(await exec(db, simpleQuery("SELECT current_setting('server_version')")))!;
  const [superuserOid, clientOid] = firstValue(
    await exec(
      db,
      simpleQuery(
        `SELECT (SELECT oid FROM pg_roles WHERE rolname = current_user) || ' ' || '${spec.clientRole}'::regrole::oid`,
      ),
    ),
  )!
    .split(' ')
    .map(Number);
  // Client statements run as the unprivileged role, locked in: SET ROLE, RESET ROLE and SET SESSION
  // AUTHORIZATION fail (42501) as they do inside a SECURITY DEFINER function, and a transaction's abort restores
  // the user and lock it started with. Only the worker, outside any unit, steps back to the superuser.
  await exec(db, simpleQuery(`SET SESSION AUTHORIZATION "${spec.clientRole}"`));
  const lock = () => mod._SetUserIdAndSecContext(clientOid!, SECURITY_LOCAL_USERID_CHANGE);
  lock();
  const backend: Backend = {
    db,
    control: new CancelControl(spec.control),
    clearInterrupt: () => {
      heap[flags.queryCancelPending] = 0;
      heap[flags.interruptPending] = 0;
      // The cancelled statement is over: the clock returns to real time for the units after it.
      skew = 0;
    },
    asSuperuser: async (run) => {
      mod._SetUserIdAndSecContext(superuserOid!, 0);
      try {
        return await run();
      } finally {
        lock();
      }
    },
  };

  // Units arrive one at a time from the main thread, but chain them anyway so a burst cannot interleave.
  let queue = Promise.resolve();
  enqueue = (work) => {
    // Only the idle rollback is queued this way: a backend that cannot roll back must not serve another unit, so
    // the thread ends and the engine restarts it (as after any death of its worker).
    queue = queue.then(work).catch(() => process.exit(1));
  };
  port.on('message', (message: ToWorker) => {
    // Not queued: the unit it concerns is waiting for it.
    if (message.type === 'settle') return goAheadReceived(message.id);
    // A unit is coming: the open plain unit's rollback goes with it rather than on its own.
    clearTimeout(idleRollback);
    queue = queue.then(async () => {
      if (message.type === 'close') {
        clearTimeout(idleRollback);
        if (openPlainUnit) await execRaw(db, rollbackQuery);
        await db.close();
        post({ type: 'closed' });
        process.exit(0);
      }
      await runUnit(backend, message).catch((err) =>
        post({
          type: 'error',
          id: message.id,
          error: err instanceof UnitError ? err.fields : errorFields(err),
          broken: true,
        }),
      );
    });
  });
  post({
    type: 'ready',
    serverVersion: version,
    memory: memory.buffer,
    queryCancelPending: flags.queryCancelPending,
    interruptPending: flags.interruptPending,
  });
}

try {
  if (data.mode === 'build') {
    const tarball = await buildTemplate(data.ddl, data.setup, data.maintenance);
    post({ type: 'built', tarball }, [tarball]);
  } else {
    await serve(data);
  }
} catch (err) {
  post({ type: 'fatal', error: errorFields(err) });
}
