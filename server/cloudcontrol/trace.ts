import { AsyncLocalStorage } from 'node:async_hooks';

/** One read a statement asked for (EXPLAIN ANALYZE), and how it was answered. */
export interface TracedRead {
  operation: 'GetResource' | 'ListResources';
  typeName: string;
  region: string;
  /** sent: this read made the call(s); cached: the read cache answered; joined: an identical read in flight did. */
  outcome: 'sent' | 'cached' | 'joined';
  /** From asking to answer, waiting for a concurrency slot included. */
  ms: number;
  /** ListResources sent: the pages it took. */
  pages?: number;
  /** GetResource: false when the resource does not exist (no row). */
  found?: boolean;
}

const reads = new AsyncLocalStorage<TracedRead[]>();

/** Runs `work` with every Cloud Control read it makes (through CloudControl's cache) appended to `into`. */
export function traceReads<T>(into: TracedRead[], work: () => Promise<T>): Promise<T> {
  return reads.run(into, work);
}

/** Starts timing one read; `sent()` when its own call goes out, `end()` once answered. A no-op untraced. */
export function startRead(
  read: Pick<TracedRead, 'operation' | 'typeName' | 'region'>,
  cachedBefore: boolean,
): { sent(): void; end(extra?: Pick<TracedRead, 'pages' | 'found'>): void } {
  const into = reads.getStore();
  const started = performance.now();
  let sent = false;
  return {
    sent: () => {
      sent = true;
    },
    end: (extra) => {
      const outcome = sent ? 'sent' : cachedBefore ? 'cached' : 'joined';
      into?.push({ ...read, outcome, ms: performance.now() - started, ...extra });
    },
  };
}
