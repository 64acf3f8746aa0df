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

export interface ReadTimer {
  sent(): void;
  end(extra?: Pick<TracedRead, 'pages' | 'found'>): void;
}

const untraced: ReadTimer = { sent: () => {}, end: () => {} };

/**
 * Starts timing one read appended to `into` (a statement's EXPLAIN ANALYZE); `sent()` when its own call goes
 * out, `end()` once answered. A no-op untraced. `cachedBefore` is asked only when traced.
 */
export function startRead(
  into: TracedRead[] | undefined,
  read: Pick<TracedRead, 'operation' | 'typeName' | 'region'>,
  cachedBefore: () => boolean,
): ReadTimer {
  if (!into) return untraced;
  const cached = cachedBefore();
  const started = performance.now();
  let sent = false;
  return {
    sent: () => {
      sent = true;
    },
    end: (extra) => {
      const outcome = sent ? 'sent' : cached ? 'cached' : 'joined';
      into.push({ ...read, outcome, ms: performance.now() - started, ...extra });
    },
  };
}
