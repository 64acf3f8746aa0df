import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import {
  concat,
  extendedQuery,
  firstError,
  firstValue,
  lastReadyStatus,
  simpleQuery,
  syncMessage,
} from './frames.js';
import type { ErrorFields, FromWorker, ToWorker, UnitRequest, WorkerData } from './messages.js';

const port = parentPort!;
const emptyBlob = new Uint8Array(0);
const data = workerData as WorkerData;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function errorFields(err: unknown): ErrorFields {
  const e = err as { code?: string; message?: string; detail?: string; hint?: string; position?: string };
  return {
    code: typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : 'XX000',
    message: e.message ?? String(err),
    detail: e.detail,
    hint: e.hint,
    position: e.position ? Number(e.position) : undefined,
  };
}

async function buildTemplate(dataDir: string, ddl: string): Promise<void> {
  const init = await PGlite.create({ dataDir });
  await init.exec('CREATE DATABASE aws');
  await init.close();
  const db = await PGlite.create({ dataDir, database: 'aws' });
  await db.exec(ddl);
  await db.close();
}

function quoteTable(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new UnitError({ code: '42602', message: `invalid table name "${name}"` });
  }
  return parts.map((p) => `"${p.replaceAll('"', '""')}"`).join('.');
}

const arrayLiteral = (items: string[]) =>
  `{${items.map((s) => `"${s.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;

class UnitError extends Error {
  constructor(readonly fields: ErrorFields) {
    super(fields.message);
  }
}

/**
 * The unit's own statements go through the raw protocol: PGlite's query()/exec() cost ~0.4 ms a call in
 * bookkeeping, ten times the statement itself.
 */
function exec(db: PGlite, messages: Uint8Array): Uint8Array {
  const reply = db.execProtocolRawSync(messages);
  const error = firstError(reply);
  if (error) throw new UnitError(error);
  return reply;
}

const settingsSql = 'SELECT set_config(n, v, false) FROM unnest($1::text[], $2::text[]) AS s(n, v)';

async function runUnit(db: PGlite, unit: UnitRequest): Promise<void> {
  let xid: bigint;
  try {
    // The xid pins the unit's transaction, so the end of the unit can tell whether anything got committed.
    xid = BigInt(firstValue(exec(db, simpleQuery('BEGIN; SELECT pg_current_xact_id()')))!);
    if (unit.settings.length > 0) {
      const names = arrayLiteral(unit.settings.map((s) => s[0]));
      exec(db, extendedQuery(settingsSql, [names, arrayLiteral(unit.settings.map((s) => s[1]))]));
    }
    for (const { table, json, rows } of unit.load) {
      const t = quoteTable(table);
      exec(
        db,
        extendedQuery(`INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)`, [
          json,
        ]),
      );
      deadRows.set(t, (deadRows.get(t) ?? 0) + rows);
    }
  } catch (err) {
    if (!(err instanceof UnitError)) throw err;
    exec(db, simpleQuery('ROLLBACK'));
    post({ type: 'error', id: unit.id, error: err.fields });
    return;
  }

  // The raw stream hands the bytes over untouched; execProtocolRaw would also parse every row for nothing.
  const chunks: Uint8Array[] = [];
  // COPY data reaches the backend as the file /dev/blob, PGlite's documented way (query()'s `blob` option does
  // the same), rather than as CopyData through the raw protocol. It is set for this unit only, and to an empty
  // file when there is no COPY: reading a missing /dev/blob (pg_read_file('/dev/blob')) kills the backend.
  await db._handleBlob(new Blob([unit.copyData ?? emptyBlob]));
  try {
    await db.execProtocolRawStream(unit.messages, {
      syncToFs: false,
      onRawData: (c) => void chunks.push(c.slice()),
    });
  } finally {
    await db._cleanupBlob();
  }
  const out = concat(chunks);
  if (lastReadyStatus(out) === undefined) db.execProtocolRawSync(syncMessage);

  // Committed: a transaction with an xid at or after the unit's one committed (a COMMIT in the messages, or a
  // write after one). Subtransactions of the rolled-back unit are aborted with it, so they do not count.
  const check = exec(
    db,
    simpleQuery(
      `ROLLBACK; SELECT count(*) FROM generate_series(${xid}, pg_snapshot_xmax(pg_current_snapshot())::text::bigint - 1)
         AS g(x) WHERE pg_xact_status(x::text::xid8) = 'committed'`,
    ),
  );
  const tainted = firstValue(check) !== '0';
  // What a rollback does not undo: prepared statements, WITH HOLD cursors, advisory locks, session SETs
  // issued after the transaction ended.
  exec(db, simpleQuery('DISCARD ALL'));
  post({ type: 'result', id: unit.id, bytes: out.buffer as ArrayBuffer, tainted }, [
    out.buffer as ArrayBuffer,
  ]);
  try {
    maintain(db);
  } catch {
    // Housekeeping only: a failed VACUUM or CHECKPOINT leaves the units correct, just slower.
  }
}

/*
 * A single-user backend has no autovacuum and never checkpoints on its own (only a postmaster asks for it).
 * Rolled-back rows stay in the heap until a VACUUM (measured: 330 units of 1,000 rows grew the table to 90 MB
 * and a count(*) over it to 12 ms), and the WAL grows without bound. So the worker vacuums a table once enough
 * rows died in it, the whole database (catalog bloat, the client's own writes) every few thousand units, and
 * checkpoints when the WAL has grown. It runs after the reply was posted, before the next unit.
 * (TRUNCATE in the unit would avoid the dead rows, but costs 2-6 ms a unit in file creation and invalidations.)
 */
const vacuumTableAfterRows = 5000;
const vacuumAllAfterUnits = 5000;
const checkpointAfterWalBytes = 64 * 1024 * 1024;
const deadRows = new Map<string, number>();
let unitsSinceVacuum = 0;
let lastCheckpointLsn = '0/0';

function maintain(db: PGlite): void {
  if (++unitsSinceVacuum >= vacuumAllAfterUnits) {
    unitsSinceVacuum = 0;
    deadRows.clear();
    exec(db, simpleQuery('VACUUM'));
  }
  for (const [table, rows] of deadRows) {
    if (rows < vacuumTableAfterRows) continue;
    deadRows.delete(table);
    exec(db, simpleQuery(`VACUUM ${table}`));
  }
  if (unitsSinceVacuum % 100 !== 0) return;
  const wal = `pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '${lastCheckpointLsn}')::bigint`;
  const [grown, lsn] = firstValue(
    exec(db, simpleQuery(`SELECT ${wal} || ' ' || pg_current_wal_insert_lsn()`)),
  )!.split(' ');
  if (Number(grown) >= checkpointAfterWalBytes) {
    exec(db, simpleQuery('CHECKPOINT'));
    lastCheckpointLsn = lsn;
  }
}

/** The data dir is a throwaway copy: durability buys nothing, and full-page images only bloat the WAL. */
const engineConf = ['full_page_writes = off', 'fsync = off'];

async function serve(dataDir: string): Promise<void> {
  const db = await PGlite.create({ dataDir, database: 'aws', postgresqlconf: engineConf });
  const version = firstValue(exec(db, simpleQuery("SELECT current_setting('server_version')")))!;
  // Units arrive one at a time from the main thread, but chain them anyway so a burst cannot interleave.
  let queue = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      if (message.type === 'close') {
        await db.close();
        post({ type: 'closed' });
        process.exit(0);
      }
      await runUnit(db, message).catch((err) =>
        post({
          type: 'error',
          id: message.id,
          error: err instanceof UnitError ? err.fields : errorFields(err),
          broken: true,
        }),
      );
    });
  });
  post({ type: 'ready', serverVersion: version });
}

try {
  if (data.mode === 'build') {
    await buildTemplate(data.dataDir, data.ddl);
    post({ type: 'ready', serverVersion: '' });
  } else {
    await serve(data.dataDir);
  }
} catch (err) {
  post({ type: 'fatal', error: errorFields(err) });
}
