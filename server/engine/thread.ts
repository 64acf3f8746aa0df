import { Worker } from 'node:worker_threads';
import { PgError, SqlState } from '../errors.js';
import type { ErrorFields, FromWorker, OpenRequest, ToWorker, WorkerData } from './messages.js';

export type ReadyMessage = Extract<FromWorker, { type: 'ready' | 'built' }>;

export interface EngineThread {
  /** Resolves once the worker is open ('ready'), or for a build with the template ('built'). */
  ready: Promise<ReadyMessage>;
  /** Resolves when the thread has exited, whatever the reason. */
  exited: Promise<void>;
  post(message: ToWorker | OpenRequest): void;
  onMessage(listener: (message: FromWorker) => void): void;
  /** Called once if the thread dies without being asked to (a crash of the WASM backend, an uncaught error). */
  onDeath(listener: (error: PgError) => void): void;
  /** Stops at once, even in the middle of a statement. */
  terminate(): Promise<void>;
  /** Closes the database cleanly after the current unit, or terminates if that takes longer than timeoutMs. */
  close(timeoutMs: number): Promise<void>;
}

export function toPgError(e: ErrorFields): PgError {
  return new PgError(e.code, e.message, { detail: e.detail, hint: e.hint, position: e.position });
}

/**
 * The worker's native stack. V8 runs the backend's WASM frames on it, and PostgreSQL's own check_stack_depth
 * (max_stack_depth, 2 MB) measures only the WASM shadow stack in linear memory, which grows far more slowly: with
 * Node's default 4 MB, a jsonb nested 100,000 deep overflowed V8's stack first (a RangeError in the middle of the
 * backend, which then had to be restarted); with 64 MB PostgreSQL answers 54001 itself and carries on. Only the
 * pages a statement touches are committed.
 */
const WORKER_STACK_MB = 64;

export function spawnWorker(data: WorkerData): EngineThread {
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: data,
    resourceLimits: { stackSizeMb: WORKER_STACK_MB },
  });
  const listeners: ((message: FromWorker) => void)[] = [];
  let deathListener: ((error: PgError) => void) | undefined;
  let stopping = false;
  let settleReady: { resolve(v: ReadyMessage): void; reject(e: Error): void } | undefined;
  const ready = new Promise<ReadyMessage>((resolve, reject) => (settleReady = { resolve, reject }));
  // A start failure is reported through ready; nobody may be listening yet.
  ready.catch(() => {});

  worker.on('message', (message: FromWorker) => {
    if (message.type === 'ready' || message.type === 'built') settleReady?.resolve(message);
    else if (message.type === 'fatal') settleReady?.reject(toPgError(message.error));
    else for (const l of listeners) l(message);
  });
  const die = (error: PgError) => {
    settleReady?.reject(error);
    if (!stopping) deathListener?.(error);
    stopping = true;
  };
  worker.on('error', (err) =>
    die(new PgError(SqlState.internal_error, `engine thread failed: ${err.message}`)),
  );
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      die(new PgError(SqlState.internal_error, `engine thread exited with code ${code}`));
      resolve();
    }),
  );

  return {
    ready,
    exited,
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => void listeners.push(listener),
    onDeath: (listener) => void (deathListener = listener),
    terminate: async () => {
      stopping = true;
      await worker.terminate();
    },
    close: async (timeoutMs) => {
      stopping = true;
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void worker.terminate(), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
