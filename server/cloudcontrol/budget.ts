import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * `--call-budget N` shared by every bridge on one Redis (`--cache redis://...`): at most N Cloud Control calls a
 * second per account and region among them all, spaced evenly (one every 1000/N ms). Even spacing, not a window of
 * N calls a second: Cloud Control throttles over any second, and a fixed window (what rate-limiter-flexible's
 * Redis limiter keeps) lets 2N through across its boundary. Each call reserves the next free slot and waits for
 * it: a fan-out queues instead of being throttled and retried. Within one process the budget is also the ceiling
 * of its Pacer (rate-limiter.ts), which is all a bridge without Redis needs.
 */
export interface CallBudget {
  /** Resolves when this call's slot comes; rejects with the signal's reason if it aborts first. */
  take(scope: string, signal?: AbortSignal): Promise<void>;
}

/** The slot a call gets: the later of now and the last reserved slot plus the interval (GCRA without burst). */
const reserveScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0') + interval)
redis.call('SET', KEYS[1], slot, 'PX', math.ceil(math.max(1000, slot - now + interval)))
return slot - now`;

export class RedisBudget implements CallBudget {
  #warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly callsPerSecond: number,
    private readonly log: Logger,
  ) {}

  async take(scope: string, signal?: AbortSignal): Promise<void> {
    let waitMs: number;
    try {
      waitMs = Number(
        await this.redis.eval(reserveScript, 1, `aws-sql-bridge:budget:${scope}`, 1000 / this.callsPerSecond),
      );
    } catch (err) {
      // Redis away: this process keeps to the budget alone (its Pacer's ceiling) rather than stopping every read.
      if (!this.#warned) {
        this.#warned = true;
        this.log.warn(
          { error: (err as Error).message },
          'shared call budget (Redis) unavailable: budgeting this process alone',
        );
        setTimeout(() => (this.#warned = false), 60_000).unref();
      }
      return;
    }
    return sleep(waitMs, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    if (signal?.aborted) return abort();
    signal?.addEventListener('abort', abort, { once: true });
  });
}
