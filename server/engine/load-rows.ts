import type { UnitRequest } from './messages.js';

/** Fewer rows than this are always sent as they are: the repeated form pays off only over many. */
const minRowsForRuns = 32;

/**
 * A table's rows as the worker loads them: the JSON array jsonb_populate_recordset reads, or, when most of them
 * repeat the row before them, each run's row once with its length (`runs`, an int[] literal). count(*) over 10,000
 * resources loads one row object per region, shared by every resource (rowBuilder in cloudcontrol/rows.ts): it goes
 * to the worker as one row repeated 10,000 times, which the engine inserts in half the time and the main thread
 * serializes in none. Runs are of the same object only (===), so their JSON is equal without being compared.
 */
export function serializeRows(
  table: string,
  rows: readonly Record<string, unknown>[],
): UnitRequest['load'][number] {
  const distinct: Record<string, unknown>[] = [];
  const lengths: number[] = [];
  if (rows.length >= minRowsForRuns)
    for (const row of rows) {
      if (distinct.length > 0 && distinct[distinct.length - 1] === row) lengths[lengths.length - 1]!++;
      else {
        distinct.push(row);
        lengths.push(1);
        // Mostly distinct rows: the plain form, without finishing the scan.
        if (distinct.length * 2 > rows.length) break;
      }
    }
  if (distinct.length === 0 || distinct.length * 2 > rows.length)
    return { table, json: JSON.stringify(rows), rows: rows.length };
  return { table, json: JSON.stringify(distinct), rows: rows.length, runs: `{${lengths.join(',')}}` };
}
