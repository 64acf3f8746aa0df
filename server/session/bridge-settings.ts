import { PgError, SqlState } from '../errors.js';
import { list, names, nodesOf } from '../plan/ast.js';
import type { ParsedStatement } from '../plan/parse.js';

/**
 * The bridge's own settings, under the `aws.` prefix, which the bridge reserves as an extension reserves its
 * prefix: SET, SHOW, RESET, SET LOCAL and set_config() work on them as on any setting (the engine keeps them as
 * placeholders), and the bridge checks their values and acts on them.
 */
const prefix = 'aws.';

/** How old a Cloud Control read the session's statements accept from the read cache; 0 reads afresh. */
export const cacheTtlSetting = 'aws.cache_ttl';

/**
 * `SET aws.partial_results = on`: a read returns the rows of the accounts and regions that answered, with a WARNING
 * for each that did not.
 */
export const partialResultsSetting = 'aws.partial_results';

export function partialResults(value: string | undefined): boolean {
  return booleanSetting(partialResultsSetting, value, false);
}

/**
 * `SET aws.result_cache = off`: every statement is computed again, even when an answer to the same statement over
 * the same fetched rows is kept (server/session/result-cache.ts). On by default.
 */
export const resultCacheSetting = 'aws.result_cache';

export function resultCacheOn(value: string | undefined): boolean {
  return booleanSetting(resultCacheSetting, value, true);
}

/**
 * `SET aws.direct_reads = off`: a point read (columns of one resource table by its keys) runs in the engine like any
 * other statement, rather than being answered by the session from the fetched rows (server/session/direct-read.ts).
 * On by default; the answer is the same either way.
 */
export const directReadsSetting = 'aws.direct_reads';

export function directReadsOn(value: string | undefined): boolean {
  return booleanSetting(directReadsSetting, value, true);
}

function booleanSetting(name: string, value: string | undefined, unset: boolean): boolean {
  if (value === undefined || value === '') return unset;
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1', 't', 'y'].includes(v)) return true;
  if (['off', 'false', 'no', '0', 'f', 'n'].includes(v)) return false;
  throw new PgError(
    SqlState.invalid_parameter_value,
    `parameter "${name}" requires a Boolean value, not "${value.slice(0, 60)}"`,
    { hint: `SET ${name} = on (or off).` },
  );
}

const known = new Set([cacheTtlSetting, partialResultsSetting, resultCacheSetting, directReadsSetting]);

const units: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
// A week: longer than any sensible reuse of live state, and far within setTimeout's range.
const maxTtlMs = 7 * units.d!;

/** Refuses a SET of an unknown `aws.` setting, or a bad value of a known one, as PostgreSQL would. */
export function checkBridgeSetting(name: string, value: string | null): void {
  if (!name.startsWith(prefix)) return;
  if (!known.has(name))
    throw new PgError(SqlState.invalid_name, `invalid configuration parameter name "${name}"`, {
      detail: `"${prefix.slice(0, -1)}" is a reserved prefix.`,
      hint: `The bridge's settings are: ${[...known].join(', ')}.`,
    });
  if (value !== null && name === cacheTtlSetting) cacheTtlMs(value);
  if (value !== null && name === partialResultsSetting) partialResults(value);
  if (value !== null && name === resultCacheSetting) resultCacheOn(value);
  if (value !== null && name === directReadsSetting) directReadsOn(value);
}

/**
 * aws.cache_ttl in milliseconds: a number with an optional unit (ms, s, min, h, d; none is ms), as PostgreSQL
 * reads a time setting. A bad value (set through set_config or the startup options, which are not checked
 * when given) is refused when used.
 */
export function cacheTtlMs(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? units[m[2] || 'ms'] : undefined;
  if (!m || unit === undefined) {
    throw new PgError(
      SqlState.invalid_parameter_value,
      `invalid value for parameter "${cacheTtlSetting}": "${value}"`,
      {
        hint: 'Give a duration such as 0, 500ms, 30s or 5min (valid units are "ms", "s", "min", "h" and "d"; none is ms).',
      },
    );
  }
  const ms = Math.round(Number(m[1]) * unit);
  if (ms > maxTtlMs)
    throw new PgError(
      SqlState.invalid_parameter_value,
      `${value} is outside the valid range for parameter "${cacheTtlSetting}" (0 .. 7d)`,
    );
  return ms;
}

/** The server's --cache-ttl-ms as the setting's value. */
export function formatTtl(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Whether the statement calls cloud_control.clear_cache() anywhere (the bridge empties the cache before it runs). */
export function callsClearCache(stmt: ParsedStatement): boolean {
  if (!/clear_cache/i.test(stmt.sql)) return false;
  for (const call of nodesOf(stmt.ast, 'FuncCall')) {
    const fn = names(call.funcname).map((n) => n?.toLowerCase());
    if (
      fn.at(-1) === 'clear_cache' &&
      (fn.length === 1 || fn[0] === 'cloud_control') &&
      list(call.args).length === 0
    )
      return true;
  }
  return false;
}
