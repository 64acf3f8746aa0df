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
  Module: { new (bytes: Uint8Array): WasmModule; prototype: object };
  instantiate(source: unknown, imports?: unknown): Promise<unknown>;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: { new (descriptor: WasmMemoryDescriptor): WasmMemory; prototype: object };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const pgliteDist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));

let compiled: Promise<WasmModule> | undefined;

/**
 * PGlite's WASM with its memory import declared shared; compiled once per process, off the main thread (0.14 s
 * synchronous), and posted to each worker.
 */
export function sharedMemoryModule(): Promise<WasmModule> {
  compiled ??= (async () => {
    const bytes = readFileSync(path.join(pgliteDist, 'pglite.wasm'));
    const shared = withSharedMemoryImport(bytes);
    if (!shared) throw new Error('pglite.wasm imports no memory to share');
    return wasm.compile(shared);
  })();
  return compiled;
}

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
};

/**
 * A copy of a WASM binary whose imported memory is declared shared (limits flags 0x03, with a maximum: shared
 * memories need one); undefined if it imports no memory or already a shared one. PGlite's side modules (plpgsql
 * and the other libraries it loads at run time) import the same memory, so they need the same declaration.
 */
export function withSharedMemoryImport(b: Uint8Array): Uint8Array | undefined {
  let p = 8;
  const readLeb = () => {
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
    const sectionStart = p;
    const id = b[p++]!;
    const size = readLeb();
    const payloadStart = p;
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    for (let n = readLeb(); n > 0; n--) {
      const moduleName = readLeb();
      p += moduleName;
      const fieldName = readLeb();
      p += fieldName;
      const kind = b[p++]!;
      if (kind === 0) readLeb();
      else if (kind === 1) {
        p++; // reference type
        const flags = b[p++]!;
        readLeb();
        if (flags & 1) readLeb();
      } else if (kind === 2) {
        const flagsAt = p;
        const flags = b[p++]!;
        if (flags & 2) return undefined;
        readLeb();
        const minEnd = p;
        if (flags & 1) readLeb();
        const limitsEnd = p;
        // The largest a 32-bit memory can be: at least the maximum of whatever memory is actually supplied.
        const max = flags & 1 ? [...b.subarray(minEnd, limitsEnd)] : leb(65536);
        const payload = [
          ...b.subarray(payloadStart, flagsAt),
          flags | 0x03,
          ...b.subarray(flagsAt + 1, minEnd),
          ...max,
          ...b.subarray(limitsEnd, end),
        ];
        const out = new Uint8Array(
          b.length - (end - sectionStart) + 1 + leb(payload.length).length + payload.length,
        );
        out.set(b.subarray(0, sectionStart), 0);
        out.set([2, ...leb(payload.length), ...payload], sectionStart);
        out.set(b.subarray(end), out.length - (b.length - end));
        return out;
      } else if (kind === 3) p += 2;
      else throw new Error(`unknown import kind ${kind} in a WASM module`);
    }
    return undefined;
  }
  return undefined;
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

  /**
   * Main thread: interrupt unit `id` if its client messages are running; else make sure they never start. True if
   * the flags were raised: the backend has a statement to stop. False: the worker is on the bridge's own statements
   * (loading rows, cleaning up), which end by themselves, and skips the client's messages.
   */
  raise(
    id: number,
    memory: Uint8Array,
    flags: { queryCancelPending: number; interruptPending: number },
  ): boolean {
    Atomics.store(this.control, 1, id);
    if (Atomics.compareExchange(this.control, 0, id, RAISING) !== id) return false;
    memory[flags.queryCancelPending] = 1;
    memory[flags.interruptPending] = 1;
    Atomics.store(this.control, 0, RAISED);
    return true;
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
