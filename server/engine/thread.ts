import { Worker } from 'node:worker_threads';
import { PgError, SqlState } from '../errors.js';
import type { ErrorFields, FromWorker, ToWorker, WorkerData } from './messages.js';

export interface EngineThread {
  /** Resolves with the server version once the worker is ready (for a build: once the template is written). */
  ready: Promise<string>;
  /** Resolves when the thread has exited, whatever the reason. */
  exited: Promise<void>;
  post(message: ToWorker): void;
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

export function spawnWorker(data: WorkerData): EngineThread {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
  const listeners: ((message: FromWorker) => void)[] = [];
  let deathListener: ((error: PgError) => void) | undefined;
  let stopping = false;
  let settleReady: { resolve(v: string): void; reject(e: Error): void } | undefined;
  const ready = new Promise<string>((resolve, reject) => (settleReady = { resolve, reject }));
  // A start failure is reported through ready; nobody may be listening yet.
  ready.catch(() => {});

  worker.on('message', (message: FromWorker) => {
    if (message.type === 'ready') settleReady?.resolve(message.serverVersion);
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
