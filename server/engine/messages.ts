/** What the main thread and the engine's worker thread say to each other. */

export type WorkerData = { mode: 'build'; dataDir: string; ddl: string } | { mode: 'open'; dataDir: string };

export interface ErrorFields {
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: number;
}

export interface UnitRequest {
  type: 'unit';
  id: number;
  settings: [string, string][];
  /** Rows already serialized as a JSON array, the text the jsonb parameter needs. */
  load: { table: string; json: string; rows: number }[];
  messages: Uint8Array;
  /** What `COPY ... FROM '/dev/blob'` in the messages reads (EngineUnit.copyData). */
  copyData?: Uint8Array;
}

export type ToWorker = UnitRequest | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; serverVersion: string }
  /** tainted: the unit's messages ended the unit's transaction, so the engine may hold state it must not keep. */
  | { type: 'result'; id: number; bytes: ArrayBuffer; tainted: boolean }
  /** broken: the failure left the backend in an unknown state; the engine must be restarted. */
  | { type: 'error'; id: number; error: ErrorFields; broken?: boolean }
  | { type: 'fatal'; error: ErrorFields }
  | { type: 'closed' };
