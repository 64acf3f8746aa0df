import type { ReadInputs } from './cache.js';
import type { CallTally } from './call-tracking.js';
import type { TracedRead } from './trace.js';

/**
 * What one statement's reads carry down to the Cloud Control client, passed along the call chain by hand. Not
 * AsyncLocalStorage: in Node 20 any use of it installs promise hooks that tax every promise in the process (the
 * SDK makes dozens per call), which cost a point read more than all the bridge's own work around the call.
 */
export interface ReadContext {
  /** The statement's tally (cloud_control.sessions): every call its reads make counts in it. */
  calls?: CallTally;
  /** How old a kept result the statement accepts (its session's aws.cache_ttl); absent: the cache's default. */
  acceptedAgeMs?: number;
  /** Set by a session that may keep the statement's answer: the kept results its reads were answered with. */
  inputs?: ReadInputs;
  /** EXPLAIN ANALYZE: each read of the table is appended, with how it was answered. */
  trace?: TracedRead[];
}
