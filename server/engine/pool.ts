import { PgError, SqlState } from '../errors.js';
import * as metrics from '../metrics.js';
import { Engine, type EngineLike, type EngineOptions, type EngineStats, type EngineUnit } from './engine.js';
import { warmUp, type WarmUpCounts } from './warm-up.js';

export type { EngineLike, EngineUnit } from './engine.js';

/** onOpening is called once, when every engine has its template and opens it. */
export interface EnginePoolOptions extends EngineOptions {
  /** How many engines (worker threads, each with its own PGlite and data dir: 80 to 100 MB RSS each, docs/ENGINE.md). At least 1. */
  engines: number;
  /**
   * Warm each engine once started, in the background, with the catalog statements BI tools send first
   * (warm-up.ts); client units interrupt it. Default true.
   */
  warmUp?: boolean;
}

export interface EnginePoolStats {
  engines: number;
  /** Units waiting for an engine to be free. */
  queued: number;
  /** Engines running a unit. */
  busy: number;
  /** Restarts of all engines together (see EngineStats.restarts). */
  restarts: number;
  /** warming: the engine runs its warm-up (warm-up.ts), which the next unit interrupts. */
  perEngine: (EngineStats & { state: Engine['state']; warming: boolean })[];
}

interface Job {
  unit: EngineUnit;
  queuedAt: number;
  resolve(bytes: Buffer): void;
  reject(error: unknown): void;
}

interface Slot {
  engine: Engine;
  /** The pool's unit on this engine: an engine gets one unit at a time, so the others can take the next ones. */
  job?: Job;
  /** A restart or a cancel of this engine is being waited for, to dispatch again once it is over. */
  watching: boolean;
}

/**
 * A unit that ran this long (or was cancelled: a statement_timeout, a closed connection) marks its owner as running
 * long work. Such an owner's next unit takes an idle engine only if another one stays idle: however many sessions
 * run long statements, one engine is left for short work (with a pool of 2 and two sessions looping on a
 * statement_timeout, they share one engine and every other session gets the other).
 */
const LONG_UNIT_MS = 100;

const canceled = () => new PgError(SqlState.query_canceled, 'canceling statement due to user request');
const shutDown = () =>
  new PgError(SqlState.admin_shutdown, 'terminating connection due to administrator command');

/**
 * Several engines, each a PGlite in its own worker thread, serving the units of all sessions: a long statement
 * holds one engine while the others keep serving, and a cancel restarts only the engine that ran the unit.
 * A unit goes to an idle engine with an open worker; when none is idle, units wait in one FIFO queue and the
 * first engine to become free takes the first of them. Units are independent (each is BEGIN..ROLLBACK), so any
 * engine may serve any unit; each engine keeps its own restart and housekeeping (server/engine/engine.ts).
 */
export class EnginePool implements EngineLike {
  private readonly queue: Job[] = [];
  private closed = false;
  private readonly longOwners = new WeakSet<object>();
  /**
   * Settles once every engine ran its warm-up (at once if there is none), with how many warm-up statements ran and
   * how many gave way to a client's unit. Never rejects. Statements sent meanwhile do not wait for it.
   */
  warmedUp: Promise<WarmUpCounts> = Promise.resolve({ ran: 0, gaveWay: 0 });

  private constructor(private readonly slots: Slot[]) {}

  /** Starts the engines at once, from the same cached template (built first if absent, once). */
  static async start(options: EnginePoolOptions): Promise<EnginePool> {
    const count = Math.floor(options.engines);
    if (!(count >= 1)) throw new Error(`an engine pool needs at least one engine, not ${options.engines}`);
    // Made once for all the engines, by the first that needs it, once all their threads are started.
    let ddl: string | undefined;
    const source = options.ddl;
    const once = typeof source === 'string' ? source : () => (ddl ??= source());
    let opening = 0;
    const onOpening = () => {
      if (++opening === count) options.onOpening?.();
    };
    const started = await Promise.allSettled(
      Array.from({ length: count }, () =>
        Engine.start({
          ddl: once,
          templateKey: options.templateKey,
          cacheDir: options.cacheDir,
          logger: options.logger,
          onOpening,
        }),
      ),
    );
    const engines = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(engines.map((e) => e.close()));
      throw failed.reason;
    }
    const pool = new EnginePool(engines.map((engine) => ({ engine, watching: false })));
    if (options.warmUp ?? true) pool.warmedUp = pool.warmUp(options.logger);
    return pool;
  }

  /**
   * One engine after the other: the engines share PGlite's compiled WASM, so the first one's warm-up leaves the
   * code optimized for the next (which then mostly fills its own catalog caches), and on 2 cores a warm-up never
   * holds more than one of them.
   */
  private async warmUp(logger: EngineOptions['logger']): Promise<WarmUpCounts> {
    const total = { ran: 0, gaveWay: 0 };
    for (const [i, { engine }] of this.slots.entries()) {
      if (this.closed) break;
      const started = performance.now();
      const { ran, gaveWay } = await warmUp(engine, i === 0);
      total.ran += ran;
      total.gaveWay += gaveWay;
      logger?.info(
        { ms: Math.round(performance.now() - started), statements: ran, gaveWay },
        'engine: warmed up',
      );
    }
    return total;
  }

  get serverVersion(): string {
    return this.slots[0]!.engine.serverVersion;
  }

  get size(): number {
    return this.slots.length;
  }

  get stats(): EnginePoolStats {
    const perEngine = this.slots.map(({ engine }) => ({
      ...engine.stats,
      state: engine.state,
      warming: engine.warming,
    }));
    return {
      engines: this.slots.length,
      queued: this.queue.length,
      busy: this.slots.filter((s) => s.job).length,
      restarts: perEngine.reduce((sum, s) => sum + s.restarts, 0),
      perEngine,
    };
  }

  run(unit: EngineUnit): Promise<Buffer> {
    if (this.closed) return Promise.reject(shutDown());
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ unit, queuedAt: performance.now(), resolve, reject });
      this.pump();
    });
  }

  /**
   * A unit of the server's own (the session path's warm-up, session/warm-up.ts) on the first engine, when no client
   * unit needs it: see Engine.runWhenIdle. undefined: it gave way to a client's unit, or the pool closed.
   */
  runWhenIdle(unit: EngineUnit): Promise<Buffer | undefined> {
    return this.closed ? Promise.resolve(undefined) : this.slots[0]!.engine.runWhenIdle(unit);
  }

  /** A queued unit leaves the queue; a running one is stopped by its engine (see Engine.cancel). */
  cancel(unit: EngineUnit): void {
    const queued = this.queue.findIndex((job) => job.unit === unit);
    if (queued >= 0) {
      this.queue.splice(queued, 1)[0]!.reject(canceled());
      return;
    }
    this.slots.find((s) => s.job?.unit === unit)?.engine.cancel(unit);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(shutDown());
    // Each engine lets its running unit finish (its answer still reaches the caller), then stops.
    await Promise.all(this.slots.map((s) => s.engine.close()));
  }

  private pump(): void {
    for (let i = 0; !this.closed && i < this.queue.length;) {
      const job = this.queue[i]!;
      const slot = this.pick(job);
      if (slot === null) return;
      if (slot === undefined) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.dispatch(slot, job);
    }
  }

  /**
   * An idle engine with an open worker; else an idle one whose last start failed (the unit makes it try again,
   * and fails with the start's error if that fails too). An engine that is restarting, settling (rolling back
   * after a unit whose answer went out: a fraction of a millisecond), or stopping a cancelled
   * statement, gets nothing yet: the units wait in the pool for whichever engine is free first, rather than behind
   * it. null: no engine is free; undefined: none for this unit (its owner runs long work), later units may go.
   */
  private pick(job: Job): Slot | null | undefined {
    const ready: Slot[] = [];
    let down: Slot | undefined;
    // Engines that can serve now or soon: one whose last start failed serves nobody until a unit retries it.
    let usable = 0;
    for (const slot of this.slots) {
      const state = slot.engine.state;
      if (state !== 'down' && state !== 'closed') usable++;
      if (slot.job) continue;
      if (state === 'ready') ready.push(slot);
      else if (state === 'down') down ??= slot;
      else if (state === 'starting' || state === 'stopping' || state === 'settling') this.watch(slot);
    }
    if (ready.length === 0) return down ?? null;
    const owner = job.unit.owner;
    if (owner && this.longOwners.has(owner) && usable > 1 && ready.length < 2) return undefined;
    // An engine running its own warm-up stops it for the unit (a few ms): one with nothing to stop comes first.
    return ready.find((slot) => !slot.engine.warming) ?? ready[0];
  }

  private watch(slot: Slot): void {
    if (slot.watching) return;
    slot.watching = true;
    void slot.engine.whenAvailable().then(() => {
      slot.watching = false;
      this.pump();
    });
  }

  private dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    const started = performance.now();
    metrics.engineQueueSeconds.observe((started - job.queuedAt) / 1000);
    const done = (long: boolean) => {
      slot.job = undefined;
      const owner = job.unit.owner;
      if (owner) {
        if (long || performance.now() - started >= LONG_UNIT_MS) this.longOwners.add(owner);
        else this.longOwners.delete(owner);
      }
      // The unit's rollback, a cancel, a restart (a unit that ended its transaction, a crash) make the engine
      // unavailable for a while: watch it, and meanwhile give the queue to the others.
      const state = slot.engine.state;
      if (state === 'starting' || state === 'stopping' || state === 'settling') this.watch(slot);
      this.pump();
    };
    slot.engine.run(job.unit).then(
      (bytes) => {
        done(false);
        job.resolve(bytes);
      },
      (err: unknown) => {
        done((err as PgError).code === SqlState.query_canceled);
        job.reject(err);
      },
    );
  }
}
