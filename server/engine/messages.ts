import type { WasmModule } from './shared-memory.js';

/** What the main thread and the engine's worker thread say to each other. */

export type WorkerData =
  /** maintenance: statements run one by one after the setup, before the build's checkpoint (template.ts). */
  | { mode: 'build'; ddl: string; setup: string; maintenance: string[] }
  | {
      mode: 'open';
      /** The cancel handshake (see CancelControl in shared-memory.ts). */
      control: SharedArrayBuffer;
      /** The role client statements run as. */
      clientRole: string;
    };

/**
 * What an engine's worker opens, its first message: the worker starts before the main thread has the template
 * (the DDL made and hashed, the tar read) and PGlite's WASM compiled.
 */
export interface OpenRequest {
  type: 'open';
  /**
   * The template data dir as a tar, read once by the main thread for all the engines that start together; the
   * worker's in-memory file system serves its files as views of it, copying a file only to write it.
   */
  template: SharedArrayBuffer;
  /** PGlite's WASM, compiled once by the main thread, with its memory declared shared (see shared-memory.ts). */
  module: WasmModule;
}

export interface ErrorFields {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: number;
}

/**
 * The names of the worker's own prepared statements (reused plans) start so; no client sees them in
 * pg_prepared_statements (template.ts). A space first: no client names its statements like that.
 */
export const reusedPlanPrefix = ' bridge plan ';

/**
 * A plain unit's statement as a prepared statement with parameters: `text` with $1..$n, declared `types` (type oids;
 * 0 for the engine to infer, as it would an unknown-typed literal's), and this unit's `values` as text.
 */
export interface ReusablePlan {
  text: string;
  types: number[];
  values: string[];
}

export type ReuseOutcome = 'prepared' | 'reused' | 'refused';

export interface UnitRequest {
  type: 'unit';
  id: number;
  settings: [string, string][];
  /**
   * Rows already serialized as a JSON array, the text the jsonb parameter needs; with `runs` (an int[] literal),
   * the array holds each run of one repeated row once, and `runs` how many times each is loaded (load-rows.ts).
   */
  load: { table: string; json: string; rows: number; runs?: string }[];
  messages: Uint8Array;
  /** The unit has a timeout: the worker says when the client's messages start, where its clock starts. */
  timed: boolean;
  /**
   * The unit can leave nothing that its ROLLBACK does not undo (EngineUnit.plain, and its messages name no
   * statement or portal): the worker answers it with a lazy result and rolls it back later (see worker.ts).
   */
  plain: boolean;
  /**
   * For a plain unit without rows to load whose messages are one simple Query: the same statement with its varying
   * literals as parameters. The worker runs it as its prepared statement (parsed and planned once) instead of the
   * Query, when the engine accepts it; otherwise the Query runs.
   */
  reuse?: ReusablePlan;
}

export type ToWorker =
  | UnitRequest
  /**
   * The answer to unit `id` has been taken (the session sent it on): the worker may now roll the unit back and
   * clean up. Until then it stays off the CPU, which the main thread needs to send the answer.
   */
  | { type: 'settle'; id: number }
  | { type: 'close' };

export type FromWorker =
  /**
   * memory: the backend's WASM memory, shared, so the main thread can raise PostgreSQL's own interrupt flags
   * (at the addresses given) while a statement runs.
   */
  | {
      type: 'ready';
      serverVersion: string;
      memory: SharedArrayBuffer;
      queryCancelPending: number;
      interruptPending: number;
    }
  /** The client's messages of unit `id` start now (sent for a unit with a timeout only). */
  | { type: 'started'; id: number }
  /**
   * The answer to the client's messages of unit `id`; 'settled' follows, unless lazy: the unit was plain, it is
   * over for the main thread, and the worker rolls it back before its next unit (or once idle).
   */
  | {
      type: 'result';
      id: number;
      bytes: ArrayBuffer;
      lazy?: boolean;
      /** What became of the unit's `reuse` (reused-plans.ts): its statement prepared now, bound again, or refused. */
      reuse?: ReuseOutcome;
    }
  /**
   * Unit `id` failed before the client's messages; 'settled' follows. broken: the failure left the backend in an
   * unknown state (at any point of the unit, its settling included); the engine must be restarted, and nothing
   * follows.
   */
  | { type: 'error'; id: number; error: ErrorFields; broken?: boolean }
  /**
   * Unit `id` is rolled back and cleaned up: the worker takes the next unit. tainted: the unit's messages ended its
   * transaction, so the engine may hold state it must not keep.
   */
  | { type: 'settled'; id: number; tainted: boolean }
  | { type: 'fatal'; error: ErrorFields }
  /** The template, built: PGlite's tar of the data dir. */
  | { type: 'built'; tarball: ArrayBuffer }
  | { type: 'closed' };
