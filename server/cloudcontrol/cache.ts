import { LRUCache } from 'lru-cache';
import type { ReadContext } from './read-context.js';

export type Loader<V> = (signal: AbortSignal) => Promise<V>;

/**
 * The kept results a statement's reads were answered with, collected while its rows are fetched (the session's
 * result cache keys an answer by them). `unkept`: some read was not answered by a kept result (it failed, found
 * nothing, or its result was not kept), so nothing proves a later answer would be the same.
 */
export interface ReadInputs {
  entries: { cache: Pick<ReadCache<object>, 'isCurrent'>; key: string; version: number }[];
  unkept: boolean;
}

/** Each kept result's version: a read that called AWS anew makes a new one. */
let lastVersion = 0;

/** One request in flight, shared by every caller of its key until it settles. */
interface Flight<V> {
  controller: AbortController;
  waiters: number;
  /** Stopped before it settled: every caller left, or lru-cache evicted it. Joiners then start afresh. */
  interrupted: boolean;
  settled: boolean;
  /** clear() or drop() of its key ran while it was in flight: its result is not kept. */
  cleared: boolean;
  /** A request whose result no one keeps, started outside lru-cache (passThrough): joiners wait on this. */
  unkept?: Promise<Kept<V>>;
}

export interface ReadCacheOptions<V> {
  /**
   * How old a kept result may be when a caller gives no age of its own; 0 keeps no result once its request
   * settles (concurrent callers still share the request).
   */
  ttlMs: number;
  /** false: keep no result at all, only share requests in flight (a shared cache elsewhere keeps them). */
  keep?: boolean;
  /** Bound on the summed sizeOf of cached values (roughly characters of Properties). */
  maxSize: number;
  sizeOf: (value: V) => number;
  /** Told how each get() is answered: a kept value, a new request, or one already in flight. */
  onLookup?: (result: 'hit' | 'miss' | 'coalesced') => void;
}

/** A kept result and when the request that got it started (its data is at least this old). */
interface Kept<V> {
  value: V;
  at: number;
  version: number;
}

/** What lru-cache's fetchMethod gets: the loader, and how long the result is kept. */
interface FetchContext<V> {
  load: Loader<V>;
}

/**
 * A TTL cache whose misses are loaded once however many callers ask at the same time (lru-cache's fetchMethod
 * coalesces them). Each caller may stop waiting on its own signal; the shared request is aborted only when
 * every caller waiting on it has gone, so one cancelled statement never fails another's read.
 * Each caller may say how old a result it accepts (a session's aws.cache_ttl): an older one is read again, and a
 * result is kept for the longest of that age and the default. Errors are never cached: lru-cache drops the
 * entry when the load rejects.
 */
export class ReadCache<V extends object> {
  readonly #lru: LRUCache<string, Kept<V>, FetchContext<V>>;
  readonly #flights = new Map<string, Flight<V>>();
  readonly #ttlMs: number;
  readonly #keep: boolean;
  readonly #onLookup: ReadCacheOptions<V>['onLookup'];

  constructor(options: ReadCacheOptions<V>) {
    this.#ttlMs = options.ttlMs;
    this.#keep = options.keep ?? true;
    this.#onLookup = options.onLookup;
    this.#lru = new LRUCache<string, Kept<V>, FetchContext<V>>({
      maxSize: options.maxSize,
      sizeCalculation: (kept) => Math.max(1, Math.ceil(options.sizeOf(kept.value))),
      fetchMethod: (key, _stale, { signal, context }) => this.#start(key, signal, context.load),
    });
  }

  /** The default age a caller accepts. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * The value for the key: a kept one no older than the statement accepts (context.acceptedAgeMs, else the
   * cache's TTL), else the request in flight for it, else a new one. An accepted age of 0 never takes a kept
   * result, but still joins a request in flight. context.inputs is told which kept result answered, or that none did.
   */
  async get(key: string, load: Loader<V>, signal?: AbortSignal, context?: ReadContext): Promise<V> {
    const maxAgeMs = context?.acceptedAgeMs ?? this.#ttlMs;
    const keepMs = this.#keep ? Math.max(maxAgeMs, this.#ttlMs) : 0;
    const flying = this.#flights.get(key);
    if (flying?.unkept && !flying.interrupted) return this.#join(flying, flying.unkept, signal, context);
    if (keepMs === 0 && !flying) return this.#passThrough(key, load, signal, context);
    // A retry is needed only when the request we joined was abandoned by all its other callers just before we
    // joined it, or was evicted mid-flight; either way a fresh request fixes it.
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const flying = this.#flights.get(key);
      if (flying?.interrupted || (!flying && !this.#fresh(key, maxAgeMs))) this.#lru.delete(key);
      if (attempt === 0)
        this.#onLookup?.(this.#lru.has(key) ? 'hit' : this.#flights.has(key) ? 'coalesced' : 'miss');

      // fetch() calls fetchMethod synchronously on a miss, so #flights holds the request it started or joined.
      // lru-cache takes ttl 0 as "forever": a result no one keeps lives 1 ms, and is dropped below at once.
      const pending = this.#lru.fetch(key, { context: { load }, ttl: Math.max(1, keepMs) });
      const flight = this.#flights.get(key);
      const leave = flight ? waitOn(flight, signal) : () => {};

      try {
        const kept = await untilAborted(pending, signal, () => leave(true));
        leave(false);
        if (kept === undefined) {
          if (attempt < 2) continue;
          throw new Error('read cache: the request was dropped before it completed');
        }
        // Identity check: only the settled value of this request is dropped, never a newer entry. One that
        // settled after a clear() goes to the callers that waited for it, and is not kept: it may predate the clear.
        if ((keepMs === 0 || flight?.cleared) && this.#lru.peek(key) === kept) this.#lru.delete(key);
        if (context?.inputs) this.#noteInput(context.inputs, key, kept);
        return kept.value;
      } catch (err) {
        leave(false);
        if (context?.inputs) context.inputs.unkept = true;
        if (signal?.aborted) throw signal.reason;
        if (flight?.interrupted && attempt < 2) continue;
        throw err;
      }
    }
  }

  /**
   * A read whose result no one keeps (the TTL 0 the point-read figure runs with): the request is shared with
   * identical reads while in flight, as through lru-cache, without lru-cache's fetch, its AbortController and its
   * entry (about 30 microseconds a read). Joiners that would keep the result join it too, and keep nothing.
   */
  #passThrough(key: string, load: Loader<V>, signal?: AbortSignal, context?: ReadContext): Promise<V> {
    signal?.throwIfAborted();
    // A kept result older than this caller accepts is dropped, as the lru-cache path does.
    this.#lru.delete(key);
    this.#onLookup?.('miss');
    const controller = new AbortController();
    const flight: Flight<V> = { controller, waiters: 0, interrupted: false, settled: false, cleared: false };
    const at = Date.now();
    flight.unkept = load(controller.signal)
      .then((value) => ({ value, at, version: ++lastVersion }))
      .finally(() => {
        flight.settled = true;
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      });
    // A caller that left (its signal) leaves the rejection unobserved otherwise.
    flight.unkept.catch(() => {});
    this.#flights.set(key, flight);
    return this.#join(flight, flight.unkept, signal, context, false);
  }

  /** Waits on a request no one keeps; the last waiter to leave before it settles stops it. */
  async #join(
    flight: Flight<V>,
    unkept: Promise<Kept<V>>,
    signal: AbortSignal | undefined,
    context: ReadContext | undefined,
    count = true,
  ): Promise<V> {
    if (count) this.#onLookup?.('coalesced');
    const leave = waitOn(flight, signal);
    try {
      const kept = await untilAborted(unkept, signal, () => leave(true));
      leave(false);
      if (context?.inputs) context.inputs.unkept = true;
      return kept.value;
    } catch (err) {
      leave(false);
      if (context?.inputs) context.inputs.unkept = true;
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
  }

  /** Tells the statement's collector which kept result answered it, or that none did. */
  #noteInput(inputs: ReadInputs, key: string, kept: Kept<V>): void {
    if (this.#lru.peek(key) === kept) inputs.entries.push({ cache: this, key, version: kept.version });
    else inputs.unkept = true;
  }

  /**
   * Whether the result of that version is still kept under the key and no older than `maxAgeMs`: a read of the
   * key now would be answered by it. Writes, clear() and expiry all make it false.
   */
  isCurrent(key: string, version: number, maxAgeMs: number): boolean {
    const kept = this.#lru.peek(key);
    return kept !== undefined && kept.version === version && Date.now() - kept.at <= maxAgeMs;
  }

  /**
   * Drops settled entries whose key matches; in-flight ones are left to finish for the callers waiting, and are not
   * kept: they may predate the change that dropped the others (an answer computed over one must not outlive it).
   */
  drop(matches: (key: string) => boolean): void {
    for (const [key, flight] of this.#flights) if (matches(key)) flight.cleared = true;
    for (const key of [...this.#lru.keys()]) {
      if (matches(key) && !this.#flights.has(key)) this.#lru.delete(key);
    }
  }

  /** Empties the cache; requests in flight finish for the callers waiting, and are not kept. */
  clear(): void {
    this.drop(() => true);
  }

  /** Whether a statement accepting that age (default: the TTL) would be served a kept value (EXPLAIN says so). */
  has(key: string, maxAgeMs = this.#ttlMs): boolean {
    return this.#fresh(key, maxAgeMs);
  }

  /** The kept value a statement accepting that age would be served, without counting as a use. */
  peek(key: string, maxAgeMs = this.#ttlMs): V | undefined {
    return this.#fresh(key, maxAgeMs) ? this.#lru.peek(key)?.value : undefined;
  }

  #fresh(key: string, maxAgeMs: number): boolean {
    const kept = this.#lru.peek(key);
    return kept !== undefined && Date.now() - kept.at <= maxAgeMs;
  }

  /** Number of requests in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#flights.size;
  }

  #start(key: string, lruSignal: AbortSignal, load: Loader<V>): Promise<Kept<V>> {
    const controller = new AbortController();
    const flight: Flight<V> = { controller, waiters: 0, interrupted: false, settled: false, cleared: false };
    const at = Date.now();
    // lru-cache aborts its signal when the entry is deleted: mid-flight (eviction) that stops the request;
    // after a failure (lru-cache drops failed entries) it is only tidying up.
    lruSignal.addEventListener(
      'abort',
      () => {
        if (flight.settled) return;
        flight.interrupted = true;
        controller.abort(lruSignal.reason);
      },
      { once: true },
    );
    this.#flights.set(key, flight);
    return load(controller.signal)
      .then((value) => ({ value, at, version: ++lastVersion }))
      .finally(() => {
        flight.settled = true;
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      });
  }
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts (after calling onAbort). */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort?: () => void,
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      reject(signal.reason);
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/**
 * Counts a waiter on a request in flight; the returned leave() uncounts it once. The last waiter to leave abandoning
 * a request that has not settled stops it.
 */
function waitOn<V>(flight: Flight<V>, signal: AbortSignal | undefined): (abandon: boolean) => void {
  flight.waiters++;
  let left = false;
  return (abandon) => {
    if (left) return;
    left = true;
    flight.waiters--;
    if (abandon && flight.waiters === 0 && !flight.settled) {
      flight.interrupted = true;
      flight.controller.abort(signal?.reason);
    }
  };
}
