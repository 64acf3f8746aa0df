import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
const templateFormat = '1';

export function defaultCacheRoot(): string {
  return path.join(os.tmpdir(), 'aws-sql-bridge-engine');
}

/** The template's path: one per (ddl, PGlite version), so a changed catalog never opens a stale template. */
export function templatePath(ddl: string, cacheRoot = defaultCacheRoot()): string {
  const hash = createHash('sha256').update(`${templateFormat}\0${pgliteVersion}\0${ddl}`).digest('hex');
  return path.join(cacheRoot, hash.slice(0, 24));
}

const building = new Map<string, Promise<string>>();

/**
 * Returns the template data dir, building it if absent. The final directory only ever appears by rename of a
 * finished build, so its existence means it is complete, and processes racing to build it cannot corrupt it.
 */
export function ensureTemplate(ddl: string, cacheRoot = defaultCacheRoot()): Promise<string> {
  const dir = templatePath(ddl, cacheRoot);
  let pending = building.get(dir);
  if (!pending) {
    pending = build(dir, ddl).finally(() => building.delete(dir));
    building.set(dir, pending);
  }
  return pending;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function build(dir: string, ddl: string): Promise<string> {
  if (await exists(dir)) return dir;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.build-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    // initdb runs for seconds of synchronous WASM: in a worker, so the caller's event loop keeps running.
    const worker = spawnWorker({ mode: 'build', dataDir: tmp, ddl });
    await worker.ready;
    await worker.exited;
    try {
      await fs.rename(tmp, dir);
    } catch (err) {
      // Another process finished first: its template is as good as ours.
      if (!(await exists(dir))) throw err;
    }
    return dir;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Private data dirs are named after the owning process so a later start can remove those of dead processes. */
const runPrefix = 'run-';

/**
 * A private data dir for one engine: a parked copy left by an earlier process when there is one (a rename),
 * else a copy of the template. With every registry type the template is ~8,700 files, which take seconds to copy.
 */
export async function copyTemplate(template: string): Promise<string> {
  const root = path.dirname(template);
  const dir = path.join(root, `${runPrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
  if (await claimParked(template, dir)) return dir;
  await copyTree(template, dir);
  return dir;
}

const parkedInfix = '.parked-';

/** Takes over a parked copy of `template` by renaming it to `dir`; false when none is left. */
async function claimParked(template: string, dir: string): Promise<boolean> {
  const prefix = `${path.basename(template)}${parkedInfix}`;
  const names = await fs.readdir(path.dirname(template)).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    try {
      await fs.rename(path.join(path.dirname(template), name), dir);
      return true;
    } catch {
      // Another process claimed it first.
    }
  }
  return false;
}

/**
 * Keeps a copy of the template that no engine ever opened (an engine's spare) for the next process to claim,
 * rather than removing it: a rename, so a claim never sees a half-parked copy. At most `keep` are kept.
 */
export async function parkCopy(template: string, dir: string, keep = 4): Promise<void> {
  const prefix = `${path.basename(template)}${parkedInfix}`;
  const names = await fs.readdir(path.dirname(template)).catch(() => [] as string[]);
  if (names.filter((n) => n.startsWith(prefix)).length >= keep) return removeDir(dir);
  await fs
    .rename(dir, `${template}${parkedInfix}${randomBytes(6).toString('hex')}`)
    .catch(() => removeDir(dir));
}

/** fs.cp is about 3x slower than this on a data dir of ~1,300 small files (measured: ~0.9 s vs ~0.3 s). */
async function copyTree(src: string, dst: string): Promise<void> {
  await fs.mkdir(dst);
  const entries = await fs.readdir(src, { withFileTypes: true });
  await Promise.all(
    entries.map((e) => {
      const from = path.join(src, e.name);
      const to = path.join(dst, e.name);
      return e.isDirectory() ? copyTree(from, to) : fs.copyFile(from, to);
    }),
  );
}

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
