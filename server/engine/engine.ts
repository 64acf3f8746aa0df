import fs from 'node:fs/promises';
import { PgError, SqlState } from '../errors.js';
import type { FromWorker, UnitRequest } from './messages.js';
import {
  copyTemplate,
  defaultCacheRoot,
  ensureTemplate,
  parkCopy,
  removeDir,
  removeOrphans,
} from './template.js';
import { spawnWorker, toPgError, type EngineThread } from './thread.js';

export interface EngineUnit {
  /** Session settings (GUC name -> value) applied at the start of the unit with set_config(name, value, false); the rollback at the end reverts them. */
  settings: [string, string][];
  /** Rows to load before the statement: into a table (qualified name, e.g. 'appflow.connector_profile'), each row an object keyed by column name (jsonb columns get JS objects/arrays). */
  load: { table: string; rows: Record<string, unknown>[] }[];
  /** Frontend protocol messages to run after loading: a Query, or Parse/Bind/Describe/Execute/... followed by Sync. */
  messages: Uint8Array;
  /**
   * The data of a client's COPY ... FROM STDIN: what a `COPY ... FROM '/dev/blob'` in `messages` reads (PGlite's
   * blob device), so the engine parses it as PostgreSQL does. Only for the duration of this unit.
   */
  copyData?: Uint8Array;
  /**
   * The session's statement_timeout in ms (0 or absent: none). PGlite cannot honour statement_timeout itself
   * (its timer needs the event loop the running query blocks), so the engine cancels the unit: it rejects with
   * 57014 'canceling statement due to statement timeout'. The clock starts when the unit starts running.
   */
  timeoutMs?: number;
}

/**
 * What a session needs from the engine: one `Engine`, or an `EnginePool` of several (server/engine/pool.ts).
 * Units are independent (each is BEGIN..ROLLBACK), so whichever worker runs a unit gives the same answer.
 */
export interface EngineLike {
  /** server_version of the engine, e.g. '18.7', for ParameterStatus. */
  readonly serverVersion: string;
  /** Runs one atomic unit; resolves with the backend's answer to `unit.messages`. */
  run(unit: EngineUnit): Promise<Buffer>;
  /** Stops that unit, queued or running: its run() rejects with 57014. Does nothing if the unit already settled. */
  cancel(unit: EngineUnit): void;
  /** Rejects units not yet running with 57P01, lets running ones finish, stops the worker(s). */
  close(): Promise<void>;
}

/** ready: a worker is open; starting: a (re)start is under way; down: the last start failed (the next unit retries). */
export type EngineState = 'ready' | 'starting' | 'down' | 'closed';

export interface EngineOptions {
  /** SQL run once into the template database 'aws' (schemas, tables, comments). */
  ddl: string;
  /** Root of the template cache; the template is `<cacheDir>/<hash of ddl and PGlite version>`. Default: `<tmpdir>/aws-sql-bridge-engine`. */
  cacheDir?: string;
}

export interface EngineStats {
  /** Worker restarts after a cancel, a crash or a unit that ended its own transaction. */
  restarts: number;
  /** The last (re)start: copying the template into a private data dir, then opening it in a new worker. */
  lastStart: { copyMs: number; openMs: number };
}

interface Job {
  unit: EngineUnit;
  timer?: NodeJS.Timeout;
  request: UnitRequest;
  resolve(bytes: Buffer): void;
  reject(error: PgError): void;
}

const canceled = () => new PgError(SqlState.query_canceled, 'canceling statement due to user request');
const timedOut = () => new PgError(SqlState.query_canceled, 'canceling statement due to statement timeout');
const shutDown = () =>
  new PgError(SqlState.admin_shutdown, 'terminating connection due to administrator command');

/**
 * The embedded PostgreSQL (PGlite, in a worker thread) that evaluates each statement as one atomic unit over
 * rows the bridge fetched. Units run one at a time, in order, and leave nothing behind for the next one.
 */
export class Engine implements EngineLike {
  private version = '';
  private thread: EngineThread | undefined;
  private dataDir: string | undefined;
  private spare: Promise<string> | undefined;
  private template: string | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;
  private nextId = 1;
  private readonly counters: EngineStats = { restarts: 0, lastStart: { copyMs: 0, openMs: 0 } };

  private constructor(
    private readonly ddl: string,
    private readonly cacheRoot: string,
  ) {}

  static async start(options: EngineOptions): Promise<Engine> {
    const root = options.cacheDir ?? defaultCacheRoot();
    await fs.mkdir(root, { recursive: true });
    await removeOrphans(root);
    const engine = new Engine(options.ddl, root);
    await engine.boot();
    return engine;
  }

  /** server_version of the engine, e.g. '18.7', for ParameterStatus. */
  get serverVersion(): string {
    return this.version;
  }

  get state(): EngineState {
    if (this.closed) return 'closed';
    if (this.restarting) return 'starting';
    return this.thread ? 'ready' : 'down';
  }

  /** Settles (never rejects) once the (re)start under way is over, with `state` already updated; at once if none is. */
  whenStarted(): Promise<void> {
    return this.restarting ?? Promise.resolve();
  }

  get stats(): EngineStats {
    return { restarts: this.counters.restarts, lastStart: { ...this.counters.lastStart } };
  }

  /** Runs one atomic unit: BEGIN; settings; load; messages; ROLLBACK. Resolves with the backend's answer to `messages` only. */
  run(unit: EngineUnit): Promise<Buffer> {
    if (this.closed) return Promise.reject(shutDown());
    let load: UnitRequest['load'];
    try {
      load = unit.load.map(({ table, rows }) => ({ table, json: JSON.stringify(rows), rows: rows.length }));
    } catch (err) {
      return Promise.reject(
        new PgError(SqlState.data_exception, `cannot load rows: ${(err as Error).message}`),
      );
    }
    return new Promise<Buffer>((resolve, reject) => {
      const request: UnitRequest = {
        type: 'unit',
        id: this.nextId++,
        settings: unit.settings,
        load,
        // A copy of just these bytes: posting a view would clone its whole underlying buffer (a socket chunk, a pool).
        messages: new Uint8Array(unit.messages),
      };
      if (unit.copyData) request.copyData = new Uint8Array(unit.copyData);
      this.queue.push({ unit, request, resolve, reject });
      this.pump();
    });
  }

  /**
   * Stops a unit: it rejects with 57014. Without an argument, the running unit; with one, that unit whether
   * queued or running (a session should name its own unit, since the engine is shared). A running unit can only
   * be stopped by terminating the worker, so the next units wait for a fresh one (see docs/ENGINE.md); in an
   * EnginePool, they go to the other engines meanwhile.
   */
  cancel(unit?: EngineUnit): void {
    const queued = unit ? this.queue.findIndex((job) => job.unit === unit) : -1;
    if (queued >= 0) {
      this.queue.splice(queued, 1)[0].reject(canceled());
      return;
    }
    const job = this.running;
    if (!job || (unit && job.unit !== unit)) return;
    this.stop(job, canceled());
  }

  private stop(job: Job, error: PgError): void {
    this.running = undefined;
    clearTimeout(job.timer);
    job.reject(error);
    this.restart();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(shutDown());
    await this.restarting;
    // The worker finishes the running unit first; its answer still reaches the caller.
    await this.thread?.close(5000);
    clearTimeout(this.running?.timer);
    this.running?.reject(shutDown());
    this.running = undefined;
    const spare = await this.spare?.catch(() => undefined);
    // The spare was never opened: the next process to start takes it instead of copying the template.
    await Promise.all([
      this.dataDir && removeDir(this.dataDir),
      spare && this.template && parkCopy(this.template, spare),
    ]);
  }

  private async boot(): Promise<void> {
    const template = await ensureTemplate(this.ddl, this.cacheRoot);
    this.template = template;
    const t0 = performance.now();
    const dir = await (this.spare ?? copyTemplate(template));
    const t1 = performance.now();
    const thread = spawnWorker({ mode: 'open', dataDir: dir });
    try {
      this.version = await thread.ready;
    } catch (err) {
      await thread.terminate();
      await removeDir(dir);
      throw err;
    }
    // A restart stalls every session's units: have the next data dir copied before it is needed. Only once this
    // engine is up: with every registry type the template is ~8,700 files, and copying the spare beside the
    // first copy and the open doubled the time to ready.
    this.spare = copyTemplate(template);
    this.spare.catch(() => (this.spare = undefined));
    this.counters.lastStart = { copyMs: t1 - t0, openMs: performance.now() - t1 };
    thread.onMessage((message) => this.onMessage(message));
    thread.onDeath((error) => this.onDeath(error));
    this.thread = thread;
    this.dataDir = dir;
  }

  /** Replaces the worker and its data dir with fresh ones from the template. */
  private restart(): void {
    if (this.restarting) return;
    const old = this.thread;
    const oldDir = this.dataDir;
    this.thread = undefined;
    this.dataDir = undefined;
    this.counters.restarts++;
    this.restarting = (async () => {
      await old?.terminate();
      if (oldDir) void removeDir(oldDir).catch(() => {});
      if (!this.closed) await this.boot();
    })()
      .catch((err: PgError) => {
        // Without a backend, the queued units cannot run; a later run() tries to start one again.
        for (const job of this.queue.splice(0)) job.reject(err);
      })
      .finally(() => {
        this.restarting = undefined;
        this.pump();
      });
  }

  private pump(): void {
    if (this.running || this.restarting || this.closed || this.queue.length === 0) return;
    if (!this.thread) return this.restart();
    const job = this.queue.shift()!;
    this.running = job;
    if (job.unit.timeoutMs) job.timer = setTimeout(() => this.stop(job, timedOut()), job.unit.timeoutMs);
    this.thread.post(job.request);
  }

  private onMessage(message: FromWorker): void {
    const job = this.running;
    if (message.type !== 'result' && message.type !== 'error') return;
    if (!job || job.request.id !== message.id) return;
    this.running = undefined;
    clearTimeout(job.timer);
    if (message.type === 'result') {
      job.resolve(Buffer.from(message.bytes));
      if (message.tainted) this.restart();
    } else {
      job.reject(toPgError(message.error));
      if (message.broken) this.restart();
    }
    this.pump();
  }

  private onDeath(error: PgError): void {
    const job = this.running;
    this.running = undefined;
    clearTimeout(job?.timer);
    job?.reject(error);
    if (!this.closed) this.restart();
  }
}
