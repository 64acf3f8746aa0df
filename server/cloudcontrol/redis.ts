import { Redis } from 'ioredis';

/** The URL with any password replaced, for messages: a Redis URL may carry one. */
export function redactedRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the --cache URL';
  }
}

/**
 * Connects to the Redis of `--cache redis://host:port[/db]` and checks it answers, so a wrong URL stops the start
 * with a clear message. Commands fail at once while it is unreachable (no offline queue): callers fall back.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    // Reconnects in the background after a loss, every second at most.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // Without a listener ioredis prints every connection error; callers see the failed commands instead.
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`--cache ${redactedRedisUrl(url)}: Redis does not answer (${(err as Error).message})`, {
      cause: err,
    });
  }
  return redis;
}
