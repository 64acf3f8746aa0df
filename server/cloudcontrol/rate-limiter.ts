/**
 * The rate at which one account may call Cloud Control in one region, learned from its throttles (and capped by
 * `--call-budget`). Cloud Control publishes no rate limit: the first ThrottlingException tells it. Until then calls
 * go as fast as `--max-concurrency` lets them; from then on they leave evenly spaced at the learned rate, and no
 * more than that many in any second (plus a margin), counted on when calls actually left, so a timer that fires
 * late cannot bunch them into a second the service has already filled. A retried attempt waits its turn like the
 * others (the SDK's own throttling backoff and adaptive limiter are off: see throttle-retry.ts).
 *
 * Learning: at a throttle, the calls that left in the second before the throttled one and were not throttled are
 * what the service admitted over a second; that becomes the rate. A later throttle of a call that left under the
 * current rate either lowers it towards what was admitted (by a tenth at most), or, when the calls were already at the full
 * rate, widens the margin the window allows for the trip to the service. After a quiet spell while calls queue, the
 * rate creeps up by 5% so that a limit that rose is found again.
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
  /** The throttled call the rate was learned from, when the rate is the count of calls admitted before it. */
  #taughtBy: Sent | undefined;

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
        this.#timer = setTimeout(() => this.#pump(), Math.ceil(at - now));
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
    const counted = this.#sent.filter((s) => s.state !== 'throttled');
    const windowFree =
      counted.length >= perWindow ? counted[counted.length - perWindow]!.at + windowMs + this.#marginMs : now;
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
        this.#maybeRaise();
      },
      throttled: () => {
        if (sent.state !== 'flying') return;
        sent.state = 'throttled';
        this.#learn(sent);
        this.#pump();
      },
    };
  }

  #prune(now: number): void {
    const keepFrom = now - windowMs - this.#marginMs - 1000;
    let drop = 0;
    while (drop < this.#sent.length && this.#sent[drop]!.at < keepFrom) drop++;
    if (drop > 0) this.#sent.splice(0, drop);
  }

  #learn(throttled: Sent): void {
    const now = this.now();
    // Calls still in flight count as admitted: on a loaded machine answers lag, and a rate learned too high only
    // costs one more throttle, while one learned too low slows every later call.
    const admitted = this.#sent.filter(
      (s) => s.state !== 'throttled' && s.at < throttled.at && s.at > throttled.at - windowMs,
    ).length;
    const rate = this.#rate;
    if (rate !== undefined && throttled.at < this.#changedAt) {
      // A call that left before the rate changed says nothing new, unless the rate was learned counting it as
      // admitted while it was still in flight: then the service admitted one fewer.
      const taught = this.#taughtBy;
      if (taught && throttled.at < taught.at && throttled.at > taught.at - windowMs && rate > 1) {
        this.#rate = rate - 1;
        this.onRate(this.#rate, admitted, this.#marginMs);
      }
      return;
    }
    this.#changedAt = now;
    this.#taughtBy = undefined;
    // Spacing starts from now: the window check holds the calls back until the service's second has room.
    this.#nextSlot = now;
    if (rate !== undefined && admitted + 1 >= Math.floor(rate)) {
      // Throttled at our own full rate: the service's second held one of ours more than the trip-time margin
      // allowed for (a call that left late, or arrived late). Widen the margin rather than lower the rate.
      this.#marginMs = Math.min(maxMarginMs, this.#marginMs * 2);
      this.onRate(rate, admitted, this.#marginMs);
      return;
    }
    // Lowered by a tenth at most: on a loaded machine calls arrive bunched (the service counts arrivals, this counts
    // departures), and a rate cut to a bunched count would slow every later call.
    const next = rate === undefined ? admitted : Math.max(admitted, rate - Math.max(1, rate / 10));
    this.#rate = Math.min(this.#ceiling, Math.max(1, next));
    if (this.#rate === admitted) this.#taughtBy = throttled;
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
    this.#taughtBy = undefined;
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
