import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/*
 * How the engine stops a running statement without restarting its worker.
 *
 * A PGlite query blocks its worker's event loop, so nothing in that thread can run while the statement does;
 * PostgreSQL's own statement_timeout (a JavaScript setTimeout in PGlite) never fires. But the backend checks its
 * interrupt flags (InterruptPending, QueryCancelPending) at every CHECK_FOR_INTERRUPTS, as a real backend does when
 * its SIGINT handler sets them. PGlite's WASM imports its memory, so the worker creates that memory shared and
 * hands it to the main thread, which sets the two flags while the statement runs: the backend then ends the
 * statement with its own 57014 and goes on serving. The memory import is declared non-shared in the binary; the
 * main thread compiles a copy whose import is declared shared (WASM without atomics runs unchanged on it).
 *
 * The flags must only ever interrupt the client's messages, never the bridge's own statements around them, so the
 * worker and the main thread hand over with an Int32Array (CancelControl) and Atomics: see raise() and settle().
 */

/** The few WebAssembly APIs used here (the project compiles without the DOM lib that declares them). */
export type WasmModule = object;
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
export interface WasmMemoryDescriptor {
  initial: number;
  maximum?: number;
  shared?: boolean;
}
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: { new (descriptor: WasmMemoryDescriptor): WasmMemory; prototype: object };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const pgliteDist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));

let compiled: WasmModule | undefined;

/** PGlite's WASM with its memory import declared shared; compiled once per process and posted to each worker. */
export function sharedMemoryModule(): WasmModule {
  if (compiled) return compiled;
  const bytes = readFileSync(path.join(pgliteDist, 'pglite.wasm'));
  markMemoryImportShared(bytes);
  compiled = new wasm.Module(bytes);
  return compiled;
}

/** Sets the shared flag on the module's imported memory (import section, kind 2, limits flags 0x01 -> 0x03). */
function markMemoryImportShared(b: Buffer): void {
  let p = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = b[p++]!;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  while (p < b.length) {
    const id = b[p++]!;
    const size = leb();
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    for (let n = leb(); n > 0; n--) {
      const moduleName = leb();
      p += moduleName;
      const fieldName = leb();
      p += fieldName;
      const kind = b[p++]!;
      if (kind === 0) leb();
      else if (kind === 1) {
        p++; // reference type
        const flags = b[p++]!;
        leb();
        if (flags & 1) leb();
      } else if (kind === 2) {
        if (b[p] !== 0x01) throw new Error(`unexpected memory limits flags ${b[p]} in pglite.wasm`);
        b[p] = 0x03; // has maximum, shared
        return;
      } else if (kind === 3) p += 2;
      else throw new Error(`unknown import kind ${kind} in pglite.wasm`);
    }
    break;
  }
  throw new Error('pglite.wasm imports no memory');
}

/**
 * control[0]: 0 while the worker runs the bridge's own statements; the unit id while it runs the client's
 * messages; RAISING while the main thread sets the flags; RAISED once they are set (the worker clears them).
 * control[1]: the id of the last unit the main thread cancelled, so a unit cancelled before its client messages
 * start skips them.
 */
const RAISING = -1;
const RAISED = -2;

export class CancelControl {
  readonly control: Int32Array;

  constructor(buffer = new SharedArrayBuffer(8)) {
    this.control = new Int32Array(buffer);
  }

  get buffer(): SharedArrayBuffer {
    return this.control.buffer as SharedArrayBuffer;
  }

  /** Main thread: interrupt unit `id` if its client messages are running; else make sure they never start. */
  raise(
    id: number,
    memory: Uint8Array,
    flags: { queryCancelPending: number; interruptPending: number },
  ): void {
    Atomics.store(this.control, 1, id);
    if (Atomics.compareExchange(this.control, 0, id, RAISING) !== id) return;
    memory[flags.queryCancelPending] = 1;
    memory[flags.interruptPending] = 1;
    Atomics.store(this.control, 0, RAISED);
  }

  /** Worker: the client messages of unit `id` start; false if the unit was already cancelled. */
  enter(id: number): boolean {
    Atomics.store(this.control, 0, id);
    return Atomics.load(this.control, 1) !== id;
  }

  /** Worker: the client messages are over; clears a raised interrupt the backend did not take. */
  settle(id: number, clear: () => void): void {
    for (;;) {
      const state = Atomics.compareExchange(this.control, 0, id, 0);
      if (state === id) return;
      // The main thread is between its two stores: a few instructions.
      if (state === RAISING) continue;
      clear();
      Atomics.store(this.control, 0, 0);
      return;
    }
  }
}
