import { concat, frameMessage, parameterTypes, withoutFrames } from './frames.js';
import { reusedPlanPrefix, type ReusablePlan } from './messages.js';

/**
 * The worker's prepared statements for plain units' statements that differ only in literals (EngineUnit.reuse):
 * each is parsed, analysed and planned once, then bound with each unit's values. A catalog browser's per-table
 * statements (SQLAlchemy's columns of a table: 0.57 ms as a new text in a hot engine, 0.14 ms bound to its generic
 * plan) then cost the engine only their execution.
 *
 * Prepared statements outlive a unit's ROLLBACK (as they do in PostgreSQL), which is what keeps them; no client
 * can reach them: a plain unit's messages name no statement (frames.ts namesNothing), the worker deallocates them
 * all before any other unit (whose messages could name one of their own), and pg_prepared_statements hides them
 * (template.ts). PostgreSQL itself re-plans one whose tables or search_path changed.
 */

/** Prepared statements kept per engine: a plan of a catalog join is tens of kB of the backend's memory. */
const MAX_KEPT = 128;
/**
 * A generic plan slower than this (its second execution: the first makes the plan) is tried as a custom plan
 * (planned with the values) the next time, and the faster of the two kept: a generic plan can lose an index a value
 * allows (a LIKE prefix).
 */
const SLOW_GENERIC_MS = 2;

interface Kept {
  name: string;
  /** Executions under the generic plan: the first one also makes that plan, so it is not timed. */
  genericRuns: number;
  genericMs?: number;
  customMs?: number;
}

export class ReusedPlans {
  /** By text and declared types; 'refused': the engine did not accept it as a statement with parameters. */
  private readonly kept = new Map<string, Kept | 'refused'>();
  private closing: string[] = [];
  private next = 1;

  get size(): number {
    return this.kept.size;
  }

  /** What to do for a unit's plan: run it (prepared already, or to prepare now), or run the unit's Query. */
  lookup(plan: ReusablePlan): { key: string; kept?: Kept; refused: boolean } {
    const key = `${plan.types.join(',')}\u0000${plan.text}`;
    const kept = this.kept.get(key);
    if (kept === undefined) return { key, refused: false };
    // Most recently used last: the first key is the one to evict.
    this.kept.delete(key);
    this.kept.set(key, kept);
    return kept === 'refused' ? { key, refused: true } : { key, kept, refused: false };
  }

  /** The plan_cache_mode the unit runs a kept statement under (set for its transaction only). */
  static planMode(kept: Kept | undefined): string {
    if (kept === undefined || kept.genericRuns < 2 || kept.genericMs === undefined)
      return 'force_generic_plan';
    if (kept.customMs === undefined)
      return kept.genericMs > SLOW_GENERIC_MS ? 'force_custom_plan' : 'force_generic_plan';
    return kept.customMs < kept.genericMs ? 'force_custom_plan' : 'force_generic_plan';
  }

  /** Messages that prepare `plan` as a new statement and describe it (its parameters' types), with one Sync. */
  prepare(key: string, plan: ReusablePlan): { name: string; messages: Uint8Array } {
    const name = `${reusedPlanPrefix}${this.next++}`;
    this.kept.set(key, { name, genericRuns: 0 });
    for (const [oldest, entry] of this.kept) {
      if (this.kept.size <= MAX_KEPT) break;
      this.kept.delete(oldest);
      if (entry !== 'refused') this.closing.push(entry.name);
    }
    const closes = this.closing.splice(0).map((old) => frameMessage.close(old));
    return {
      name,
      messages: concat([
        ...closes,
        frameMessage.parse(name, plan.text, plan.types),
        frameMessage.describeStatement(name),
        frameMessage.sync,
      ]),
    };
  }

  /**
   * Whether the engine took the statement as the literals would have been taken: the Parse and Describe
   * succeeded, each declared type stayed, and each string got a type (an unknown-typed literal left unknown, as an
   * argument of `format()` or `json_build_object()`, fails the Parse already).
   */
  accepted(key: string, plan: ReusablePlan, reply: Uint8Array): boolean {
    const types = parameterTypes(reply);
    const ok =
      types !== undefined &&
      types.length === plan.types.length &&
      types.every((type, i) => (plan.types[i] === 0 ? type !== 0 && type !== 705 : type === plan.types[i]));
    if (!ok) this.refuse(key);
    return ok;
  }

  /** A statement whose preparation was cancelled: prepared again next time. */
  forget(key: string): void {
    this.kept.delete(key);
  }

  refuse(key: string): void {
    const kept = this.kept.get(key);
    if (kept && kept !== 'refused') this.closing.push(kept.name);
    this.kept.set(key, 'refused');
  }

  /** Records how long an execution took under the mode planMode gave. */
  timed(kept: Kept, mode: string, ms: number): void {
    if (mode === 'force_generic_plan') {
      if (++kept.genericRuns > 1) kept.genericMs = Math.min(kept.genericMs ?? ms, ms);
    } else kept.customMs = Math.min(kept.customMs ?? ms, ms);
  }

  /** Everything was deallocated (DEALLOCATE ALL, a restart). */
  clear(): void {
    this.kept.clear();
    this.closing = [];
  }

  entry(key: string): Kept | undefined {
    const kept = this.kept.get(key);
    return kept === 'refused' ? undefined : kept;
  }
}

/** Bind of a kept statement with the unit's values (text), Describe of the portal, Execute, Sync. */
export function executeKept(name: string, plan: ReusablePlan): Uint8Array {
  return concat([
    frameMessage.bind(name, plan.values),
    frameMessage.describePortal,
    frameMessage.execute,
    frameMessage.sync,
  ]);
}

/**
 * The reply of executeKept as a simple Query's: without BindComplete (and NoData), RowDescription, DataRows,
 * CommandComplete and ReadyForQuery are the same frames.
 */
export function asQueryReply(reply: Uint8Array): Uint8Array {
  return withoutFrames(reply, [0x32, 0x6e]);
}
