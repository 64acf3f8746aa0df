import fs from 'node:fs/promises';
import { PgError, SqlState } from '../errors.js';
import * as metrics from '../metrics.js';
import type { FromWorker, ReusablePlan, UnitRequest } from './messages.js';
import { namesNothing } from './frames.js';
import { serializeRows } from './load-rows.js';
import { CancelControl, sharedMemoryModule } from './shared-memory.js';
import { clientRole, defaultCacheRoot, ensureTemplate, readTemplate, removeOrphans } from './template.js';
import { spawnWorker, toPgError, type EngineThread } from './thread.js';

/** What the engine logs: restarts and crashes, with a reason; never statement text, rows or settings. */
export interface EngineLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface EngineUnit {
  /** Session settings (GUC name -> value) applied at the start of the unit with set_config(name, value, false); the rollback at the end reverts them. */
  settings: [string, string][];
  /** Rows to load before the statement: into a table (qualified name, e.g. 'appflow.connector_profile'), each row an object keyed by column name (jsonb columns get JS objects/arrays). */
  load: { table: string; rows: Record<string, unknown>[] }[];
  /** Frontend protocol messages to run after loading: a Query, or Parse/Bind/Describe/Execute/... followed by Sync. */
  messages: Uint8Array;
  /**
   * The session's statement_timeout in ms (0 or absent: none). PGlite cannot honour statement_timeout itself
   * (its timer needs the event loop the running query blocks), so the engine cancels the unit: it rejects with
   * 57014 'canceling statement due to statement timeout'. The clock starts when the client's messages start,
   * after the rows are loaded.
   */
  timeoutMs?: number;
  /**
   * Who runs the unit (a session): an EnginePool keeps one engine free for others while this owner's recent units
   * ran long (see pool.ts). Any object; compared by identity.
   */
  owner?: object;
  /**
   * The caller vouches that the messages can leave nothing a ROLLBACK does not undo: they cannot end the
   * transaction, and call nothing whose effect outlives it (a SELECT of stable and immutable functions only: no
   * advisory lock, nextval, set_config, PREPARE, DECLARE, LISTEN...). Such a unit needs no commit check and no
   * cleanup: the engine takes its answer as its end, and the worker rolls it back just before its next unit (or
   * once idle), without the settle round trip. The engine checks itself that the messages name no prepared
   * statement or portal.
   */
  plain?: boolean;
  /**
   * For a plain unit whose messages are one simple Query: that statement with its varying literals as parameters
   * (plan/literal-template.ts). The worker keeps it prepared, so that the next texts that differ only in those
   * literals are neither parsed nor planned again; it runs the Query instead whenever the engine does not accept it.
   */
  reuse?: ReusablePlan;
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

/**
 * ready: a worker is open; settling: the worker rolls back and cleans up after a unit whose answer went out
 * (a fraction of a millisecond); stopping: a cancelled statement is winding down in the worker (milliseconds);
 * starting: a (re)start is under way; down: the last start failed (the next unit retries).
 */
export type EngineState = 'ready' | 'settling' | 'stopping' | 'starting' | 'down' | 'closed';

export interface EngineOptions {
  /**
   * SQL run once into the template database 'aws' (schemas, tables, comments). A function is called once the
   * worker threads are started, so that they start while this thread makes the DDL (0.4 s for every type).
   */
  ddl: string | (() => string);
  /**
   * A key that stands for the DDL (a hash of what it is made from: server/catalog-key.ts): the cached template is
   * found by it, and `ddl` is called only if the template must be built.
   */
  templateKey?: string;
  /** Called once the worker has its template and opens it: this thread is free meanwhile. */
  onOpening?: () => void;
  /** Root of the template cache; the template is `<cacheDir>/<hash of ddl and PGlite version>.tar`. Default: `<tmpdir>/aws-sql-bridge-engine`. */
  cacheDir?: string;
  logger?: EngineLogger;
}

export interface EngineStats {
  /**
   * Worker restarts: after a crash, a unit that ended its own transaction, or a cancelled statement that did not
   * stop within CANCEL_GRACE_MS. A cancel that the backend honours costs none.
   */
  restarts: number;
  /** Cancels the backend honoured itself, without a restart. */
  cancels: number;
  /** The last (re)start: opening a new worker with the template loaded into its in-memory data dir. */
  lastStart: { openMs: number };
}

/**
 * How long a cancelled statement may take to stop before its worker is terminated. The backend checks its
 * interrupt flags constantly (a CPU-bound statement stopped within 1-5 ms); this bounds what does not (a long
 * stretch with interrupts held off, a call into JavaScript).
 */
const CANCEL_GRACE_MS = 500;

interface OpenWorker {
  thread: EngineThread;
  control: CancelControl;
  memory: Uint8Array;
  flags: { queryCancelPending: number; interruptPending: number };
}

interface Job {
  unit: EngineUnit;
  /** The engine's own idle-time unit (warm-up.ts): it gives way to any client unit. */
  idle?: boolean;
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
 * rows the bridge fetched. Units run one at a time, in order, and leave nothing behind for the next one. The data
 * dir lives in the worker's memory, loaded from the template: the rows never reach a file.
 */
export class Engine implements EngineLike {
  private version = '';
  private worker: OpenWorker | undefined;
  private readonly queue: Job[] = [];
  /** Idle-time units (runWhenIdle): run only when no client unit is queued, and stopped when one arrives. */
  private readonly idleQueue: Job[] = [];
  private running: Job | undefined;
  /** A cancelled unit whose statement the backend is still stopping: the worker takes nothing else meanwhile. */
  private stopping: { id: number; idle: boolean; timer?: NodeJS.Timeout } | undefined;
  /** The unit whose answer went out and which the worker is rolling back: it takes nothing else meanwhile. */
  private settling: number | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;
  private nextId = 1;
  private readonly counters: EngineStats = { restarts: 0, cancels: 0, lastStart: { openMs: 0 } };
  private readonly waiters: (() => void)[] = [];
  private shared: SharedArrayBuffer | undefined;

  private constructor(
    private ddl: string | (() => string) | undefined,
    private readonly cacheRoot: string,
    private readonly logger: EngineLogger | undefined,
    private readonly templateKey: string | undefined,
  ) {}

  static async start(options: EngineOptions): Promise<Engine> {
    const root = options.cacheDir ?? defaultCacheRoot();
    const engine = new Engine(options.ddl, root, options.logger, options.templateKey);
    // Before any await: the engines of a pool all start their threads before the first of them makes the DDL.
    const worker = engine.spawn();
    try {
      await fs.mkdir(root, { recursive: true });
      await removeOrphans(root);
    } catch (err) {
      await worker.thread.terminate();
      throw err;
    }
    await engine.boot(worker, options.onOpening);
    return engine;
  }

  /** server_version of the engine, e.g. '18.7', for ParameterStatus. */
  get serverVersion(): string {
    return this.version;
  }

  get state(): EngineState {
    if (this.closed) return 'closed';
    if (this.restarting) return 'starting';
    if (this.stopping) return 'stopping';
    if (this.settling !== undefined) return 'settling';
    return this.worker ? 'ready' : 'down';
  }

  /** Settles (never rejects) once the engine is no longer starting, stopping or settling, with `state` updated. */
  whenAvailable(): Promise<void> {
    if (!this.unavailable()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get stats(): EngineStats {
    return { ...this.counters, lastStart: { ...this.counters.lastStart } };
  }

  /** True while the engine runs one of its own idle-time units, which the next client unit interrupts. */
  get warming(): boolean {
    return this.running?.idle === true;
  }

  /** Closed or closing: idle-time work should stop. */
  get closing(): boolean {
    return this.closed;
  }

  /** Runs one atomic unit: BEGIN; settings; load; messages; ROLLBACK. Resolves with the backend's answer to `messages` only. */
  run(unit: EngineUnit): Promise<Buffer> {
    const running = this.enqueue(unit, this.queue);
    // A client's unit never waits behind the engine's own idle-time work: that unit is stopped (in 1 to 5 ms, as a
    // cancel is), and the client's runs as soon as the backend has rolled it back.
    if (this.running?.idle) this.stop(this.running, canceled());
    return running;
  }

  /**
   * Runs a unit of the engine's own (the warm-up, warm-up.ts) when no client unit is queued or running. It gives
   * way to the first client unit that arrives: it is stopped inside the backend, as a cancel, and resolves with
   * undefined, as it does if the engine closes. Resolves with the answer otherwise (an ErrorResponse included).
   */
  runWhenIdle(unit: EngineUnit): Promise<Buffer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return this.enqueue(unit, this.idleQueue, true).catch(() => undefined);
  }

  private enqueue(unit: EngineUnit, queue: Job[], idle = false): Promise<Buffer> {
    if (this.closed) return Promise.reject(shutDown());
    let load: UnitRequest['load'];
    try {
      load = unit.load.map(({ table, rows }) => serializeRows(table, rows));
    } catch (err) {
      return Promise.reject(
        new PgError(SqlState.data_exception, `cannot load rows: ${(err as Error).message}`),
      );
    }
    const plain = unit.plain === true && namesNothing(unit.messages);
    return new Promise<Buffer>((resolve, reject) => {
      const request: UnitRequest = {
        type: 'unit',
        id: this.nextId++,
        settings: unit.settings,
        load,
        // A copy of just these bytes: posting a view would clone its whole underlying buffer (a socket chunk, a pool).
        messages: new Uint8Array(unit.messages),
        timed: (unit.timeoutMs ?? 0) > 0,
        plain,
        ...(plain && unit.reuse && load.length === 0 ? { reuse: unit.reuse } : {}),
      };
      queue.push({ unit, request, resolve, reject, ...(idle ? { idle } : {}) });
      this.pump();
    });
  }

  /**
   * Stops a unit: it rejects with 57014 at once. Without an argument, the running unit; with one, that unit whether
   * queued or running (a session should name its own unit, since the engine is shared). A running statement is
   * interrupted inside the backend, as PostgreSQL's SIGINT would (see shared-memory.ts); only if it has not stopped
   * within CANCEL_GRACE_MS is the worker terminated and restarted.
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
    const worker = this.worker;
    if (!worker) return;
    const id = job.request.id;
    const idle = job.idle === true;
    if (!worker.control.raise(id, worker.memory, worker.flags)) {
      // Not yet at the client's messages: the worker skips them and answers once its own statements are done.
      this.stopping = { id, idle };
      return;
    }
    const timer = setTimeout(() => {
      if (this.stopping?.id !== id) return;
      this.stopping = undefined;
      this.logger?.warn(
        { graceMs: CANCEL_GRACE_MS },
        'engine: a cancelled statement did not stop; restarting',
      );
      this.restart('cancel not honoured');
    }, CANCEL_GRACE_MS);
    this.stopping = { id, idle, timer };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of [...this.queue.splice(0), ...this.idleQueue.splice(0)]) job.reject(shutDown());
    await this.restarting;
    clearTimeout(this.stopping?.timer);
    // The worker finishes the running unit first; its answer still reaches the caller. A statement being
    // cancelled gets CANCEL_GRACE_MS, as it would have anyway.
    await this.worker?.thread.close(this.stopping ? CANCEL_GRACE_MS : 5000);
    this.stopping = undefined;
    this.settling = undefined;
    this.worker = undefined;
    clearTimeout(this.running?.timer);
    this.running?.reject(shutDown());
    this.running = undefined;
    this.notify();
  }

  /**
   * The template tar, shared with the other engines that started with this one: its path is found (the DDL
   * hashed, built if absent) and the file read once; a restart reuses it (its files, written or not, are still
   * the template's: each engine copies a file before writing it).
   */
  private async template(): Promise<SharedArrayBuffer> {
    if (this.shared) return this.shared;
    this.shared = await readTemplate(await ensureTemplate(this.ddl!, this.cacheRoot, this.templateKey));
    // Not needed again (a restart reuses the tar): 5.8 MB with every type.
    this.ddl = undefined;
    return this.shared;
  }

  /**
   * A worker thread, started before its template is known: it loads PGlite while this thread makes the DDL, finds
   * the template and compiles PGlite's WASM; boot() then sends it both.
   */
  private spawn(): { thread: EngineThread; control: CancelControl; startedAt: number } {
    const control = new CancelControl();
    const thread = spawnWorker({ mode: 'open', control: control.buffer, clientRole });
    return { thread, control, startedAt: performance.now() };
  }

  private async boot({ thread, control, startedAt } = this.spawn(), onOpening?: () => void): Promise<void> {
    let ready;
    try {
      // Compiled in the background (once per process) while the template is found.
      const module = sharedMemoryModule();
      const template = await this.template();
      thread.post({ type: 'open', template, module: await module });
      onOpening?.();
      ready = await thread.ready;
    } catch (err) {
      await thread.terminate();
      throw err;
    }
    if (ready.type !== 'ready') {
      await thread.terminate();
      throw new PgError(SqlState.internal_error, 'the engine worker opened no backend');
    }
    this.version = ready.serverVersion;
    this.counters.lastStart = { openMs: performance.now() - startedAt };
    thread.onMessage((message) => this.onMessage(message));
    thread.onDeath((error) => this.onDeath(error));
    this.worker = {
      thread,
      control,
      memory: new Uint8Array(ready.memory),
      flags: { queryCancelPending: ready.queryCancelPending, interruptPending: ready.interruptPending },
    };
  }

  /** Replaces the worker with a fresh one: its in-memory data dir, and whatever a unit left in it, go with it. */
  private restart(reason: string): void {
    if (this.restarting) return;
    metrics.engineRestarts.inc({ reason });
    const old = this.worker;
    this.worker = undefined;
    clearTimeout(this.stopping?.timer);
    this.stopping = undefined;
    this.settling = undefined;
    this.counters.restarts++;
    this.logger?.info({ reason, restarts: this.counters.restarts }, 'engine: restarting its worker');
    this.restarting = (async () => {
      await old?.thread.terminate();
      if (!this.closed) await this.boot();
    })()
      .then(() =>
        this.logger?.info({ openMs: Math.round(this.counters.lastStart.openMs) }, 'engine: worker open'),
      )
      .catch((err: PgError) => {
        this.logger?.error({ code: err.code }, 'engine: worker failed to start');
        // Without a backend, the queued units cannot run; a later run() tries to start one again.
        for (const job of [...this.queue.splice(0), ...this.idleQueue.splice(0)]) job.reject(err);
      })
      .finally(() => {
        this.restarting = undefined;
        this.notify();
        this.pump();
      });
  }

  private unavailable(): boolean {
    const state = this.state;
    return state === 'starting' || state === 'stopping' || state === 'settling';
  }

  private notify(): void {
    if (this.unavailable()) return;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private pump(): void {
    if (this.running || this.stopping || this.settling !== undefined || this.restarting || this.closed)
      return;
    if (this.queue.length === 0) {
      // Idle-time work never restarts a worker that is down: only a client's unit does.
      if (this.idleQueue.length === 0 || !this.worker) return;
    } else if (!this.worker) return this.restart('a unit needs a worker');
    const job = (this.queue.length > 0 ? this.queue : this.idleQueue).shift()!;
    this.running = job;
    this.worker.thread.post(job.request);
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'started') {
      // statement_timeout counts the client's statement, not the loading and clean-up around it.
      const job = this.running;
      if (job?.request.id === message.id && job.unit.timeoutMs)
        job.timer = setTimeout(() => this.stop(job, timedOut()), job.unit.timeoutMs);
      return;
    }
    if (message.type === 'settled') {
      if (this.settling !== message.id) return;
      this.settling = undefined;
      if (message.tainted) this.restart('unit committed');
      this.notify();
      this.pump();
      return;
    }
    if (message.type !== 'result' && message.type !== 'error') return;
    const broken = message.type === 'error' && message.broken === true;
    // A plain unit's answer is its end: the worker rolls it back before the next one, which can be sent at once.
    const lazy = message.type === 'result' && message.lazy === true;
    if (broken && message.id === this.settling) {
      // The rollback or cleanup after an answer that went out failed.
      this.logger?.warn({ code: message.error.code }, 'engine: a unit left the backend broken');
      this.restart('backend failure');
      return;
    }
    if (this.stopping?.id === message.id) {
      // The cancelled statement stopped; its answer went to nobody (the unit was rejected at the cancel).
      clearTimeout(this.stopping.timer);
      if (!this.stopping.idle) this.counters.cancels++;
      this.stopping = undefined;
      if (broken) this.restart('backend failure');
      else if (lazy) this.pump();
      else this.settleAfterAnswer(message.id);
      this.notify();
      return;
    }
    const job = this.running;
    if (!job || job.request.id !== message.id) return;
    this.running = undefined;
    clearTimeout(job.timer);
    if (message.type === 'result') {
      // The clients' statements only, not the warm-up's.
      if (message.reuse && !job.idle) metrics.engineReusedPlans.inc({ outcome: message.reuse });
      job.resolve(Buffer.from(message.bytes));
    } else job.reject(toPgError(message.error));
    if (broken) {
      this.logger?.warn({ code: message.error.code }, 'engine: a unit left the backend broken');
      this.restart('backend failure');
      this.pump();
    } else if (lazy) {
      this.pump();
      this.notify();
    } else this.settleAfterAnswer(message.id);
  }

  /**
   * The worker rolls unit `id` back once its answer has gone on: the callers' continuations (the session sending
   * the answer to its client) run before setImmediate's callback. It takes no other unit until 'settled'.
   */
  private settleAfterAnswer(id: number): void {
    this.settling = id;
    const thread = this.worker?.thread;
    setImmediate(() => thread?.post({ type: 'settle', id }));
  }

  private onDeath(error: PgError): void {
    this.logger?.error({ code: error.code, reason: error.message }, 'engine: worker thread died');
    const job = this.running;
    this.running = undefined;
    clearTimeout(job?.timer);
    job?.reject(error);
    if (!this.closed) this.restart('worker died');
  }
}
