import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { untilAborted, type Loader } from './cache.js';

const prefix = 'aws-sql-bridge:read:';

/** What one call's result is kept under: a hash per type and region (a write drops it), a field per call. */
export interface SharedKey {
  typeName: string;
  region: string;
  /** The operation and its identifier or ResourceModel. */
  field: string;
}

/** Keeps a result only if no write dropped the hash since the read began (its generation is unchanged). */
const storeScript = `
if (redis.call('HGET', KEYS[1], '~gen') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1`;

/** A write: every result of the type and region goes, and reads in flight since cannot store theirs. */
const dropScript = `
local gen = tonumber(redis.call('HGET', KEYS[1], '~gen') or '0') + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '~gen', gen)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return gen`;

/** Releases the lock only if it is still this reader's. */
const unlockScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** How long one reader holds the right to call for a key while the others wait for its result. */
const lockMs = 10_000;
const pollMs = 20;
/** A generation outlives any result it guards (TTLs are at most a week). */
const generationMs = 8 * 86_400_000;

interface Stored {
  /** When the request that got it started (ms since the epoch, the bridges' clocks). */
  at: number;
  value: unknown;
}

/**
 * The read cache shared by every bridge given the same `--cache redis://...`: GetResource and ListResources
 * results in Redis, by type and region, with the time their request started; a reader accepts one no older than
 * its statement does (aws.cache_ttl). Identical calls are coalesced across bridges: the first reader takes a
 * short lock and calls; the others wait for what it stores. Redis being away never fails a read: it is loaded
 * directly (and a warning logged once per outage).
 */
export class SharedReadCache {
  #warned = false;

  constructor(
    private readonly redis: Redis,
    /** The server's --cache-ttl-ms: the age accepted when the statement sets none. */
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  /** `acceptedAgeMs`: the statement's aws.cache_ttl; absent: the server's. */
  async get<V>(key: SharedKey, load: Loader<V>, signal: AbortSignal, acceptedAgeMs?: number): Promise<V> {
    const maxAgeMs = acceptedAgeMs ?? this.ttlMs;
    const keepMs = Math.max(maxAgeMs, this.ttlMs);
    const hash = hashKey(key.typeName, key.region);
    const lock = `${prefix}lock:${key.typeName}:${key.region}:${key.field}`;
    const started = Date.now();
    let generation: string;
    try {
      const [gen, raw] = await untilAborted(this.redis.hmget(hash, '~gen', key.field), signal);
      generation = gen ?? '0';
      const kept = parse(raw);
      if (kept && started - kept.at <= maxAgeMs) return kept.value as V;
      // Nothing is kept: no reader waits for a result, so each calls itself.
      if (keepMs === 0) return await load(signal);
      const token = `${started}:${randomBytes(6).toString('hex')}`;
      const holder = await untilAborted(this.redis.set(lock, token, 'PX', lockMs, 'NX', 'GET'), signal);
      if (holder !== null) {
        const waited = await this.#waitFor(hash, key.field, lock, Number(holder.split(':')[0]), signal);
        if (waited) return waited.value as V;
      } else {
        try {
          return await this.#loadAndStore(hash, key.field, generation, keepMs, load, signal);
        } finally {
          this.redis.eval(unlockScript, 1, lock, token).catch(() => {});
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!isRedisFailure(err)) throw err;
      this.#warn(err);
      return load(signal);
    }
    // The holder gave up or its lock ran out: call, and keep what comes back.
    return this.#loadAndStore(hash, key.field, generation, keepMs, load, signal);
  }

  /** A write to the type (in the region, or in every region): the next reads call AWS. */
  async drop(typeName: string, region?: string): Promise<void> {
    try {
      const hashes =
        region === undefined ? await this.#scan(hashKey(typeName, '*')) : [hashKey(typeName, region)];
      await Promise.all(hashes.map((hash) => this.redis.eval(dropScript, 1, hash, generationMs)));
    } catch (err) {
      this.#warn(err);
    }
  }

  /** cloud_control.clear_cache(): every bridge's next reads call AWS. */
  async clear(): Promise<void> {
    try {
      for (const hash of await this.#scan(hashKey('*', '*')))
        await this.redis.eval(dropScript, 1, hash, generationMs);
    } catch (err) {
      this.#warn(err);
    }
  }

  async #loadAndStore<V>(
    hash: string,
    field: string,
    generation: string,
    keepMs: number,
    load: Loader<V>,
    signal: AbortSignal,
  ): Promise<V> {
    const at = Date.now();
    const value = await load(signal);
    const stored: Stored = { at, value };
    this.redis
      .eval(storeScript, 1, hash, generation, field, JSON.stringify(stored), keepMs)
      .catch((err: unknown) => this.#warn(err));
    return value;
  }

  /** Waits while another reader's call for the key is in flight; its result, or undefined when it left none. */
  async #waitFor(
    hash: string,
    field: string,
    lock: string,
    holderStarted: number,
    signal: AbortSignal,
  ): Promise<Stored | undefined> {
    const deadline = Date.now() + lockMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      signal.throwIfAborted();
      const [raw, locked] = await Promise.all([this.redis.hget(hash, field), this.redis.exists(lock)]);
      const kept = parse(raw);
      // A result from the call we waited for, or a later one.
      if (kept && kept.at >= holderStarted) return kept;
      if (!locked) return undefined;
    }
    return undefined;
  }

  async #scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      keys.push(...batch.filter((k) => !k.startsWith(`${prefix}lock:`)));
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  #warn(err: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    setTimeout(() => (this.#warned = false), 60_000).unref();
    this.log.warn(
      { error: (err as Error).message },
      'shared read cache (Redis) unavailable: reading Cloud Control directly',
    );
  }
}

function hashKey(typeName: string, region: string): string {
  return `${prefix}${typeName}:${region}`;
}

function parse(raw: string | null | undefined): Stored | undefined {
  if (!raw) return undefined;
  return JSON.parse(raw) as Stored;
}

/** ioredis' own errors (connection lost, offline, a reply error), as opposed to the load's. */
function isRedisFailure(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return (
    e?.name === 'ReplyError' ||
    e?.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|enableOfflineQueue/.test(e?.message ?? '')
  );
}
