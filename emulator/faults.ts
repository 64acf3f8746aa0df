import { isOperationName, type OperationName } from './operations.js';

/** Handler error codes a failed ProgressEvent may carry (the model's HandlerErrorCode). */
export const handlerErrorCodes = [
  'NotUpdatable',
  'InvalidRequest',
  'AccessDenied',
  'UnauthorizedTaggingOperation',
  'InvalidCredentials',
  'AlreadyExists',
  'NotFound',
  'ResourceConflict',
  'Throttling',
  'ServiceLimitExceeded',
  'NotStabilized',
  'GeneralServiceException',
  'ServiceInternalError',
  'ServiceTimeout',
  'NetworkFailure',
  'InternalFailure',
] as const;

export interface InjectedFailure {
  errorCode: (typeof handlerErrorCodes)[number];
  statusMessage?: string;
}

/** Knobs tests turn to make the emulator misbehave the ways the live service does. */
export interface Faults {
  /** Added latency per operation; `*` applies to every operation without its own entry. */
  latencyMs: Partial<Record<OperationName | '*', number>>;
  /** Requests per second (over a sliding second) above which requests get ThrottlingException; 0 is off. */
  throttleRps: number;
  /** Share (0..1) of requests answered with ServiceInternalErrorException. */
  internalErrorRate: number;
  /** Create/Update/Delete of these identifiers is accepted and then FAILS with the given ErrorCode. */
  failIdentifiers: Record<string, InjectedFailure>;
  /** Operations refused with AccessDeniedException naming the handler permission they need. */
  denyOperations: OperationName[];
  /** How long Create/Update/Delete stay IN_PROGRESS. */
  completionDelayMs: number;
}

export const defaultCompletionDelayMs = 300;

export function defaultFaults(): Faults {
  return {
    latencyMs: {},
    throttleRps: 0,
    internalErrorRate: 0,
    failIdentifiers: {},
    denyOperations: [],
    completionDelayMs: defaultCompletionDelayMs,
  };
}

/**
 * Checks a partial fault setting (from the admin endpoint or the CLI) and returns the faults with it applied;
 * each given key replaces the old value. Throws an Error whose message says what is wrong.
 */
export function applyFaults(current: Faults, update: unknown): Faults {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw new Error('faults must be a JSON object');
  }
  const next: Faults = structuredClone(current);
  for (const [key, value] of Object.entries(update)) {
    switch (key) {
      case 'latencyMs':
        next.latencyMs = checkLatency(value);
        break;
      case 'throttleRps':
        next.throttleRps = checkNumber(key, value, 0, Infinity);
        break;
      case 'internalErrorRate':
        next.internalErrorRate = checkNumber(key, value, 0, 1);
        break;
      case 'failIdentifiers':
        next.failIdentifiers = checkFailures(value);
        break;
      case 'denyOperations':
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && isOperationName(v))) {
          throw new Error('denyOperations must be a list of operation names');
        }
        next.denyOperations = value as OperationName[];
        break;
      case 'completionDelayMs':
        next.completionDelayMs = checkNumber(key, value, 0, 3_600_000);
        break;
      default:
        throw new Error(`unknown fault setting ${key}`);
    }
  }
  return next;
}

function checkNumber(key: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${key} must be a number from ${min} to ${max}`);
  }
  return value;
}

function checkLatency(value: unknown): Faults['latencyMs'] {
  if (typeof value !== 'object' || value === null) throw new Error('latencyMs must be an object');
  const latency: Faults['latencyMs'] = {};
  for (const [op, ms] of Object.entries(value)) {
    if (op !== '*' && !isOperationName(op)) throw new Error(`latencyMs: unknown operation ${op}`);
    latency[op as OperationName] = checkNumber(`latencyMs.${op}`, ms, 0, 600_000);
  }
  return latency;
}

function checkFailures(value: unknown): Record<string, InjectedFailure> {
  if (typeof value !== 'object' || value === null) throw new Error('failIdentifiers must be an object');
  const failures: Record<string, InjectedFailure> = {};
  for (const [identifier, failure] of Object.entries(value as Record<string, Partial<InjectedFailure>>)) {
    const code = failure?.errorCode;
    if (typeof code !== 'string' || !(handlerErrorCodes as readonly string[]).includes(code)) {
      throw new Error(
        `failIdentifiers.${identifier}.errorCode must be one of ${handlerErrorCodes.join(', ')}`,
      );
    }
    if (failure.statusMessage !== undefined && typeof failure.statusMessage !== 'string') {
      throw new Error(`failIdentifiers.${identifier}.statusMessage must be a string`);
    }
    failures[identifier] = {
      errorCode: code as InjectedFailure['errorCode'],
      statusMessage: failure.statusMessage,
    };
  }
  return failures;
}

/** Counts requests over the last second to decide when to throttle. */
export class RateLimiter {
  private readonly recent: number[] = [];

  /** True when the request may proceed; throttled requests are not counted, so backing off recovers. */
  admit(limitPerSecond: number, now = Date.now()): boolean {
    if (limitPerSecond <= 0) return true;
    while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
    if (this.recent.length >= limitPerSecond) return false;
    this.recent.push(now);
    return true;
  }

  clear(): void {
    this.recent.length = 0;
  }
}
