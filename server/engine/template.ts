import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { reusedPlanPrefix } from './messages.js';
import { spawnWorker } from './thread.js';

// The package's exports hide package.json; its entry point sits in dist/, one level below it.
const pgliteVersion = (
  JSON.parse(
    readFileSync(
      path.join(
        path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')),
        '..',
        'package.json',
      ),
      'utf8',
    ),
  ) as { version: string }
).version;

/** Bump when the way the template is built changes, so old caches are not reused. */
const templateFormat = '5';

/** The role client statements run as in the engine (see worker.ts for how it is locked in). */
export const clientRole = 'client';

/**
 * The setting each unit carries its session's BackendKeyData process id in: the engine's pg_backend_pid() and
 * pg_stat_activity.pid answer it, since tools match them against cancel keys and each other (`pid <> pg_backend_pid()`).
 */
export const backendPidSetting = 'bridge.backend_pid';

/**
 * Least privilege for client statements: read and write (in the unit, rolled back) the catalog's tables, call
 * the functions PUBLIC may call. No superuser, no predefined roles: no files (COPY TO/FROM a file, pg_read_file,
 * pg_ls_dir, server-side lo_import/lo_export), no CHECKPOINT, no replication slots, no superuser-only settings.
 * Writing the rows is what the bridge's own loading and its write path (RETURNING old.*, new.*) need.
 */
const setupSql = `
CREATE ROLE ${clientRole} NOLOGIN;
DO $$
DECLARE s name;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
            WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO ${clientRole}', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO ${clientRole}', s);
  END LOOP;
END $$;
CREATE OR REPLACE FUNCTION pg_catalog.pg_backend_pid() RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE
  AS $f$SELECT coalesce(nullif(current_setting('${backendPidSetting}', true), ''), '0')::integer$f$;
-- With the catalog's cloud_control schema (an engine given other DDL has none).
DO $$ BEGIN
  IF to_regnamespace('cloud_control') IS NOT NULL THEN
    CREATE FUNCTION cloud_control.clear_cache() RETURNS void LANGUAGE plpgsql VOLATILE AS $f$BEGIN END$f$;
    COMMENT ON FUNCTION cloud_control.clear_cache() IS
      'Empties the bridge''s read cache of Cloud Control calls: the next reads call AWS (the bridge does it before the statement runs).';
  END IF;
END $$;
DO $$ BEGIN
  EXECUTE 'CREATE OR REPLACE VIEW pg_catalog.pg_stat_activity AS '
    || replace(pg_get_viewdef('pg_catalog.pg_stat_activity'::regclass), 's.pid,', 'pg_catalog.pg_backend_pid() AS pid,');
END $$;
-- The engine's own prepared statements (worker.ts, reused plans) hold other sessions' statement texts: a client's
-- pg_prepared_statements shows only its own, and the function under it is the superuser's alone.
CREATE FUNCTION pg_catalog.bridge_client_prepared_statements()
  RETURNS TABLE (name text, statement text, prepare_time timestamptz, parameter_types regtype[],
                 result_types regtype[], from_sql boolean, generic_plans bigint, custom_plans bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $f$SELECT * FROM pg_catalog.pg_prepared_statement() p WHERE p.name NOT LIKE '${reusedPlanPrefix}%'$f$;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_prepared_statement() FROM PUBLIC;
CREATE OR REPLACE VIEW pg_catalog.pg_prepared_statements AS
  SELECT * FROM pg_catalog.bridge_client_prepared_statements();
-- With the catalog's cloud_control.sessions, pg_stat_activity shows the bridge's sessions (loaded into it for each
-- statement that names pg_stat_activity): psql users and BI tools look there. query shows the statement's kind
-- only, since its text may hold credentials.
DO $$ BEGIN
  IF to_regclass('cloud_control.sessions') IS NOT NULL THEN
    CREATE OR REPLACE VIEW pg_catalog.pg_stat_activity AS
      SELECT d.oid AS datid, d.datname, s.pid::integer AS pid, NULL::integer AS leader_pid,
             NULL::oid AS usesysid, s.usename::name COLLATE "C" AS usename, s.application_name,
             s.client_addr::inet AS client_addr, NULL::text AS client_hostname, NULL::integer AS client_port,
             s.backend_start, NULL::timestamptz AS xact_start, s.statement_start AS query_start, s.state_change,
             CASE WHEN s.calls_in_flight > 0 THEN 'IO' END AS wait_event_type,
             CASE WHEN s.calls_in_flight > 0 THEN 'CloudControlCall' END AS wait_event,
             s.state, NULL::xid AS backend_xid, NULL::xid AS backend_xmin, NULL::bigint AS query_id,
             '<' || s.statement_kind || '>' AS query, 'client backend'::text AS backend_type
        FROM cloud_control.sessions s
        LEFT JOIN pg_catalog.pg_database d ON d.datname = current_database();
  END IF;
END $$;
`;

/**
 * Run on the built template as the superuser, each statement alone (VACUUM refuses a multi-statement string), just
 * before its final checkpoint. Every engine starts from this copy: with frozen, all-visible catalog pages, no engine's
 * first scans of pg_attribute, pg_class, pg_type and pg_description (the rows of 2,466 tables) check each row's
 * transaction and set its hint bits, and every later scan of an all-visible page skips the per-row visibility check
 * (a count over pg_attribute: about 20% less CPU). 2 to 4 s more to build, once per snapshot.
 */
const maintenanceSql = ['VACUUM (FREEZE)'];

export function defaultCacheRoot(): string {
  return path.join(os.tmpdir(), 'aws-sql-bridge-engine');
}

/**
 * The template's path: one per (DDL or key, role setup and maintenance, PGlite version), so a changed catalog never opens a stale
 * template. `source` is the DDL itself, or a key that stands for it (a hash of everything it is made from: see
 * server/catalog-key.ts).
 */
export function templatePath(source: string, cacheRoot = defaultCacheRoot()): string {
  // The engines of a pool start together with the same DDL string: hash it once (5.8 MB with every type: 0.1-0.2 s).
  if (lastPath?.source !== source || lastPath.cacheRoot !== cacheRoot) {
    const hash = createHash('sha256')
      .update(`${templateFormat}\0${pgliteVersion}\0${setupSql}\0${maintenanceSql.join('\0')}\0${source}`)
      .digest('hex');
    lastPath = { source, cacheRoot, file: path.join(cacheRoot, `${hash.slice(0, 24)}.tar`) };
    // Kept for the engines starting now, not for the process's life (the DDL is 5.8 MB with every type).
    setImmediate(() => (lastPath = undefined));
  }
  return lastPath.file;
}
let lastPath: { source: string; cacheRoot: string; file: string } | undefined;

const building = new Map<string, Promise<string>>();

/**
 * Returns the template's path (a tar of the data dir), building it if absent. It holds the catalog's DDL and the
 * client role, never any row. The file only ever appears by rename of a finished build, so its existence means it
 * is complete, and processes racing to build it cannot corrupt it. With a `key` (see templatePath), the template
 * is found by it and `ddl` is called only to build it.
 */
export function ensureTemplate(
  ddl: string | (() => string),
  cacheRoot = defaultCacheRoot(),
  key?: string,
): Promise<string> {
  const file = templatePath(key ?? (typeof ddl === 'string' ? ddl : ddl()), cacheRoot);
  let pending = building.get(file);
  if (!pending) {
    pending = build(file, ddl).finally(() => building.delete(file));
    building.set(file, pending);
  }
  return pending;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function build(file: string, source: string | (() => string)): Promise<string> {
  if (await exists(file)) return file;
  const ddl = typeof source === 'string' ? source : source();
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.build-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    // initdb runs for seconds of synchronous WASM: in a worker, so the caller's event loop keeps running.
    const worker = spawnWorker({ mode: 'build', ddl, setup: setupSql, maintenance: maintenanceSql });
    const built = await worker.ready;
    await worker.exited;
    if (built.type !== 'built') throw new Error('the template build returned no template');
    await fs.writeFile(tmp, new Uint8Array(built.tarball));
    await fs.rename(tmp, file);
    return file;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

const reading = new Map<string, Promise<SharedArrayBuffer>>();

/**
 * The template tar in shared memory, read once for all the engines that start at the same time (a pool's start).
 * Every engine's in-memory data dir serves its files as views of this one copy (copied per file only when
 * written), so N engines hold one tar, not N; each engine keeps it for its restarts.
 */
export function readTemplate(file: string): Promise<SharedArrayBuffer> {
  let pending = reading.get(file);
  if (!pending) {
    pending = (async () => {
      const handle = await fs.open(file, 'r');
      try {
        const { size } = await handle.stat();
        const shared = new SharedArrayBuffer(size);
        const view = new Uint8Array(shared);
        for (let at = 0; at < size;) {
          const { bytesRead } = await handle.read(view, at, size - at, at);
          if (bytesRead === 0) throw new Error(`${file}: shorter than its size`);
          at += bytesRead;
        }
        return shared;
      } finally {
        await handle.close();
      }
    })().finally(() => setImmediate(() => reading.delete(file)));
    reading.set(file, pending);
  }
  return pending;
}

/** Data dirs of earlier versions (copies on disk) and unfinished builds: named after the owning process. */
export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

const cleaning = new Map<string, Promise<void>>();

/**
 * Removes the private data dirs left by processes that died without closing their engine. Engines of a pool
 * start at once: they share one pass, rather than racing to remove the same directories.
 */
export function removeOrphans(cacheRoot: string): Promise<void> {
  let pending = cleaning.get(cacheRoot);
  if (!pending) {
    pending = removeDeadRuns(cacheRoot).finally(() => cleaning.delete(cacheRoot));
    cleaning.set(cacheRoot, pending);
  }
  return pending;
}

async function removeDeadRuns(cacheRoot: string): Promise<void> {
  const names = await fs.readdir(cacheRoot).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = /^(?:run-|.*\.build-)(\d+)-/.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) return;
      await removeDir(path.join(cacheRoot, name));
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
