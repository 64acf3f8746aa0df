import { LRUCache } from 'lru-cache';

export type Loader<V> = (signal: AbortSignal) => Promise<V>;

/** One request in flight, shared by every caller of its key until it settles. */
interface Flight {
  controller: AbortController;
  waiters: number;
  /** Stopped before it settled: every caller left, or lru-cache evicted it. Joiners then start afresh. */
  interrupted: boolean;
  settled: boolean;
}

export interface ReadCacheOptions<V> {
  /** 0 keeps no result once its request settles; concurrent callers still share the request. */
  ttlMs: number;
  /** Bound on the summed sizeOf of cached values (roughly characters of Properties). */
  maxSize: number;
  sizeOf: (value: V) => number;
  /** Told how each get() is answered: a kept value, a new request, or one already in flight. */
  onLookup?: (result: 'hit' | 'miss' | 'coalesced') => void;
}

/**
 * A TTL cache whose misses are loaded once however many callers ask at the same time (lru-cache's fetchMethod
 * coalesces them). Each caller may stop waiting on its own signal; the shared request is aborted only when
 * every caller waiting on it has gone, so one cancelled statement never fails another's read.
 * Errors are never cached: lru-cache drops the entry when the load rejects.
 */
export class ReadCache<V extends object> {
  readonly #lru: LRUCache<string, V, Loader<V>>;
  readonly #flights = new Map<string, Flight>();
  readonly #ttlMs: number;
  readonly #onLookup: ReadCacheOptions<V>['onLookup'];

  constructor(options: ReadCacheOptions<V>) {
    this.#ttlMs = options.ttlMs;
    this.#onLookup = options.onLookup;
    this.#lru = new LRUCache<string, V, Loader<V>>({
      maxSize: options.maxSize,
      sizeCalculation: (value) => Math.max(1, Math.ceil(options.sizeOf(value))),
      ...(options.ttlMs > 0 ? { ttl: options.ttlMs } : {}),
      fetchMethod: (key, _stale, { signal, context }) => this.#start(key, signal, context),
    });
  }

  async get(key: string, load: Loader<V>, signal?: AbortSignal): Promise<V> {
    // A retry is needed only when the request we joined was abandoned by all its other callers just before we
    // joined it, or was evicted mid-flight; either way a fresh request fixes it.
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      if (this.#flights.get(key)?.interrupted) this.#lru.delete(key);
      if (attempt === 0)
        this.#onLookup?.(this.#lru.has(key) ? 'hit' : this.#flights.has(key) ? 'coalesced' : 'miss');

      // fetch() calls fetchMethod synchronously on a miss, so #flights holds the request it started or joined.
      const pending = this.#lru.fetch(key, { context: load });
      const flight = this.#flights.get(key);
      if (flight) flight.waiters++;
      let left = false;
      const leave = (abandon: boolean) => {
        if (left || !flight) return;
        left = true;
        flight.waiters--;
        if (abandon && flight.waiters === 0 && !flight.settled) {
          flight.interrupted = true;
          flight.controller.abort(signal?.reason);
        }
      };

      try {
        const value = await untilAborted(pending, signal, () => leave(true));
        leave(false);
        if (value === undefined) {
          if (attempt < 2) continue;
          throw new Error('read cache: the request was dropped before it completed');
        }
        // Identity check: only the settled value of this request is dropped, never a newer entry.
        if (this.#ttlMs === 0 && this.#lru.peek(key) === value) this.#lru.delete(key);
        return value;
      } catch (err) {
        leave(false);
        if (signal?.aborted) throw signal.reason;
        if (flight?.interrupted && attempt < 2) continue;
        throw err;
      }
    }
  }

  /** Drops settled entries whose key matches; in-flight ones are left to finish for the callers waiting. */
  drop(matches: (key: string) => boolean): void {
    for (const key of [...this.#lru.keys()]) {
      if (matches(key) && !this.#flights.has(key)) this.#lru.delete(key);
    }
  }

  /** Whether a settled, unexpired value is kept for the key (EXPLAIN says which calls would be served here). */
  has(key: string): boolean {
    return this.#lru.has(key);
  }

  /** The kept value, without counting as a use. */
  peek(key: string): V | undefined {
    return this.#lru.peek(key);
  }

  /** Number of requests in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#flights.size;
  }

  #start(key: string, lruSignal: AbortSignal, load: Loader<V>): Promise<V> {
    const controller = new AbortController();
    const flight: Flight = { controller, waiters: 0, interrupted: false, settled: false };
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
    return load(controller.signal).finally(() => {
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
