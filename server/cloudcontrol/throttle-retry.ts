import type { CloudControlClient } from '@aws-sdk/client-cloudcontrol';
import { isThrottlingError, StandardRetryStrategy } from '@smithy/core/retry';
import type {
  FinalizeRequestMiddleware,
  MetadataBearer,
  RetryErrorInfo,
  RetryStrategyV2,
  RetryToken,
  StandardRetryToken,
} from '@smithy/types';
import { signalOf } from './abortable.js';
import type { CallBudget } from './budget.js';
import type { Pacer } from './rate-limiter.js';

/**
 * The SDK's standard retries, except that a throttled attempt is retried at once: its wait is the Pacer's, which has
 * just learned from that throttle, not a random backoff of up to a second or more (the 2026 retry defaults), and
 * not the SDK's adaptive limiter, which cut the rate to 70% of what it measured and climbed back slowly (a fan-out
 * over 200 took 2.1x the time the limit allows). Other errors keep the standard backoff and retry quota.
 */
export class PacedRetryStrategy implements RetryStrategyV2 {
  readonly #standard: StandardRetryStrategy;

  constructor(private readonly maxAttempts: number) {
    this.#standard = new StandardRetryStrategy(maxAttempts);
  }

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.#standard.acquireInitialRetryToken(scope);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    if (info.errorType !== 'THROTTLING')
      return this.#standard.refreshRetryTokenForRetry(token as StandardRetryToken, info);
    const retries = token.getRetryCount() + 1;
    if (retries >= this.maxAttempts) throw new Error('No retry token available');
    const next: StandardRetryToken = {
      getRetryCount: () => retries,
      getRetryDelay: () => 0,
      getRetryCost: () => undefined,
    };
    return next;
  }

  recordSuccess(token: RetryToken): void {
    this.#standard.recordSuccess(token as StandardRetryToken);
  }
}

/**
 * Every attempt the client sends (retries included, as it runs inside the retry loop) first takes a slot of the
 * shared `--call-budget` (with Redis), then its turn from the scope's Pacer, and tells the Pacer how it was answered.
 */
export function paceAttempts(
  client: CloudControlClient,
  scope: string,
  pacer: Pacer,
  budget?: CallBudget,
): void {
  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    const signal =
      signalOf(args.input) ??
      (context as { __smithy_context?: { abortSignal?: AbortSignal } }).__smithy_context?.abortSignal;
    if (budget) await budget.take(scope, signal);
    const leave = pacer.tryLeave() ?? (await pacer.take(signal));
    try {
      const out = await next(args);
      leave.admitted();
      return out;
    } catch (err) {
      if (isThrottlingError(err as Parameters<typeof isThrottlingError>[0])) leave.throttled();
      else leave.admitted();
      throw err;
    }
  };
  client.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'paceAttempts',
  });
}
