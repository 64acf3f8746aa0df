/**
 * The rate at which one account may call Cloud Control in one region, learned from its throttles (and capped by
 * `--call-budget`). Cloud Control publishes no rate limit: the first ThrottlingException tells it. Until then calls
 * go as fast as `--max-concurrency` lets them; from then on they leave evenly spaced at the learned rate, and no
 * more than that many in any second (plus a margin). The service counts a call when it arrives, some time between
 * its departure and its answer (a cold client signs and connects for hundreds of ms; a loaded machine delays
 * either end), so that second is counted on answers: a call leaves once the rate-th latest answer is a second and
 * the margin old. A retried attempt waits its turn like the others (the SDK's own throttling backoff and adaptive
 * limiter are off: see throttle-retry.ts).
 *
 * Learning: at a throttle, the calls answered (not throttled) in the second before its answer are what the service
 * admitted over a second; that becomes the rate. A later throttle of a call that left under the current rate lowers
 * it towards what was admitted (by a tenth at most); when the calls were already at the full rate, it widens the
 * margin and steps the rate down by 2%. After a quiet spell while calls queue, the rate creeps up by 5% so that a
 * limit that rose is found again.
 */

/** What one call reports back when its answer comes. */
export interface Leave {
  /** The service answered (anything but a throttle): it counted this call. */
  admitted(): void;
  /** ThrottlingException: the service did not count it; the rate is learned from it. */
  throttled(): void;
}

interface Sent {
  at: number;
  /** When the answer came: the service counted the call at or before it. */
  answeredAt?: number;
  /** In flight until the answer comes; a throttled call was not counted by the service. */
  state: 'flying' | 'admitted' | 'throttled';
}

interface Waiter {
  resolve: (leave: Leave) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const windowMs = 1000;
const minMarginMs = 10;
const maxMarginMs = 250;
/** Quiet time (no throttle, calls queued) before the rate is raised. */
const raiseAfterMs = 5000;

export class Pacer {
  /** Calls a second; undefined until the first throttle (or a budget) gives one. */
  #rate: number | undefined;
  readonly #ceiling: number;
  /** The earliest time the next evenly spaced call may leave. */
  #nextSlot = -Infinity;
  /** Calls that left in the last window and margin, oldest first. */
  #sent: Sent[] = [];
  readonly #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the rate last changed: a throttle of a call that left before says nothing about the new rate. */
  #changedAt = -Infinity;
  /**
   * Added to the window: what a call's trip to the service may vary by, so that the service's second never holds
   * more than the rate. Doubled by a throttle at the full rate, halved when the rate is raised.
   */
  #marginMs = minMarginMs;

  constructor(
    ceiling = Infinity,
    private readonly onRate: (
      rate: number,
      admitted: number | undefined,
      marginMs: number,
    ) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#ceiling = ceiling;
    if (Number.isFinite(ceiling)) this.#rate = ceiling;
  }

  /** Calls a second this scope is paced at; undefined while no throttle has been seen and no budget is set. */
  get rate(): number | undefined {
    return this.#rate;
  }

  /**
   * The call's leave when it may go now and no other waits: no promise, no timer (the common case, before any
   * throttle); undefined otherwise, and the call take()s its turn.
   */
  tryLeave(): Leave | undefined {
    if (this.#waiters.length > 0) return undefined;
    const now = this.now();
    return this.#earliest(now) > now ? undefined : this.#leave(now);
  }

  /** Resolves when this call may leave; rejects with the signal's reason if it aborts while waiting. */
  take(signal?: AbortSignal): Promise<Leave> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Leave>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
          this.#pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#waiters.length > 0) {
      const now = this.now();
      const at = this.#earliest(now);
      if (at > now) {
        // Not before an answer comes (which pumps again) when a call the window depends on is still in flight.
        if (Number.isFinite(at)) this.#timer = setTimeout(() => this.#pump(), Math.ceil(at - now));
        return;
      }
      const waiter = this.#waiters.shift()!;
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.#leave(now));
    }
  }

  #earliest(now: number): number {
    const rate = this.#rate;
    if (rate === undefined) return now;
    this.#prune(now);
    const perWindow = Math.max(1, Math.floor(rate));
    // When each counted call reached the service at the latest: its answer, or not yet known while in flight.
    const latest = this.#sent
      .filter((s) => s.state !== 'throttled')
      .map((s) => s.answeredAt ?? Infinity)
      .sort((a, b) => a - b);
    const windowFree =
      latest.length >= perWindow ? latest[latest.length - perWindow]! + windowMs + this.#marginMs : now;
    return Math.max(this.#nextSlot, windowFree);
  }

  #leave(now: number): Leave {
    const sent: Sent = { at: now, state: 'flying' };
    this.#prune(now);
    this.#sent.push(sent);
    if (this.#rate !== undefined) {
      const interval = 1000 / this.#rate;
      // A timer that fired late may catch up half an interval; the window above still bounds every second.
      this.#nextSlot = Math.max(this.#nextSlot, now - interval / 2) + interval;
    }
    return {
      admitted: () => {
        if (sent.state !== 'flying') return;
        sent.state = 'admitted';
        sent.answeredAt = this.now();
        this.#maybeRaise();
        if (this.#waiters.length > 0) this.#pump();
      },
      throttled: () => {
        if (sent.state !== 'flying') return;
        sent.state = 'throttled';
        sent.answeredAt = this.now();
        this.#learn(sent);
        this.#pump();
      },
    };
  }

  #prune(now: number): void {
    // Answers older than the window and margin no longer matter; a call in flight always does. Only the oldest
    // run of them is dropped (calls leave in order and mostly answer in order): an old answer kept behind a call
    // still in flight is older than any the window looks at, and one pass per call stays short.
    const keepFrom = now - windowMs - maxMarginMs;
    let stale = 0;
    while (stale < this.#sent.length && (this.#sent[stale]!.answeredAt ?? Infinity) < keepFrom) stale++;
    if (stale > 0) this.#sent.splice(0, stale);
  }

  #learn(throttled: Sent): void {
    const now = this.now();
    // Answers only: in a burst the calls still in flight when the service filled up are about to be throttled too.
    const admitted = this.#sent.filter(
      (s) => s.state === 'admitted' && s.answeredAt! <= now && s.answeredAt! > now - windowMs,
    ).length;
    const rate = this.#rate;
    // A call that left before the rate changed says nothing about the new rate.
    if (rate !== undefined && throttled.at < this.#changedAt) return;
    this.#changedAt = now;
    let next: number;
    if (rate === undefined) next = admitted;
    else if (admitted + 1 >= Math.floor(rate)) {
      // Throttled at our own full rate: either the service's second held one of ours more than the margin allowed
      // for, or someone else spends the same limit. Widen the margin, and step the rate down a little (2%, at
      // least one) so that repeated throttles from a shared limit still bring it down.
      this.#marginMs = Math.min(maxMarginMs, this.#marginMs * 2);
      next = rate - Math.max(1, rate / 50);
    } else {
      // Lowered by a tenth at most: on a loaded machine answers come bunched, and a rate cut to a bunched count
      // would slow every later call.
      next = Math.max(admitted, rate - Math.max(1, rate / 10));
    }
    this.#rate = Math.min(this.#ceiling, Math.max(1, next));
    // The service's second is full now: the next call waits an interval at least, then the window check.
    this.#nextSlot = Math.max(this.#nextSlot, now + 1000 / this.#rate);
    this.onRate(this.#rate, admitted, this.#marginMs);
  }

  #maybeRaise(): void {
    const rate = this.#rate;
    if (rate === undefined || rate >= this.#ceiling || this.#waiters.length === 0) return;
    const now = this.now();
    if (now - this.#changedAt < raiseAfterMs) return;
    this.#rate = Math.min(this.#ceiling, rate + Math.max(1, rate / 20));
    this.#marginMs = Math.max(minMarginMs, this.#marginMs / 2);
    this.#changedAt = now;
    this.onRate(this.#rate, undefined, this.#marginMs);
  }
}

/** One Pacer per scope (account and region), created on first use. */
export class RateLimiters {
  readonly #pacers = new Map<string, Pacer>();

  /**
   * `ceiling`: `--call-budget`, the most calls a second any scope may take; `onRate` hears each learned rate
   * (and, when a throttle taught it, the calls the service had admitted in the second before).
   */
  constructor(
    private readonly ceiling = Infinity,
    private readonly onRate: (
      scope: string,
      rate: number,
      admitted: number | undefined,
      marginMs: number,
    ) => void = () => {},
  ) {}

  pacer(scope: string): Pacer {
    let pacer = this.#pacers.get(scope);
    if (!pacer)
      this.#pacers.set(
        scope,
        (pacer = new Pacer(this.ceiling, (...learned) => this.onRate(scope, ...learned))),
      );
    return pacer;
  }
}
