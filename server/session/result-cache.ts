import { LRUCache } from 'lru-cache';
import type { ReadInputs } from '../cloudcontrol/cache.js';
import type { EngineLike } from '../engine/engine.js';
import * as metrics from '../metrics.js';
import type { ParsedStatement } from '../plan/parse.js';
import {
  paramsReadClock,
  repeatability,
  volatileNamesSql,
  type Repeatability,
  type VolatileNames,
} from '../plan/volatility.js';
import { serializeFrontend } from '../wire/frontend-serializer.js';
import { dataRowTexts, singleResult, type Result } from './result.js';

/**
 * Answers kept for every session, by bytes (frames and key); no one answer over 1 MB: an application's statements,
 * not a dump of a table.
 */
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Table kinds whose rows are read-cache entries (or the catalog itself), so a kept answer can be proven current. */
const repeatableTables = new Set(['resource', 'collection', 'resource_types']);

interface Entry {
  result: Result;
  /** The read-cache entries the answer was computed over, each by version. */
  inputs: ReadInputs['entries'];
  bytes: number;
}

/**
 * Finished answers to SELECTs, by everything the answer depends on: the caller's key (the session's settings and
 * transaction state, the statement text as run, parameter types, values and formats, result formats, and the
 * session's own identity where the statement names it); and the read-cache entries its rows came from, checked at
 * each lookup. An answer whose inputs are no longer current (expired for the session's aws.cache_ttl, dropped by a
 * write or clear_cache(), read again) is dropped. A server's sessions share one (by its Cloud Control client, whose
 * read cache the inputs are in): nothing else of theirs reaches the answer.
 */
export type Answers = LRUCache<string, Entry>;
const answersByServer = new WeakMap<object, Answers>();
/** The answers the metrics count: the servers' shared ones. */
const counted = new WeakSet<Answers>();

export function answersOf(server: object): Answers {
  let answers = answersByServer.get(server);
  if (!answers) {
    answers = privateAnswers();
    counted.add(answers);
    answersByServer.set(server, answers);
  }
  return answers;
}

/** Answers of one session alone, not in the metrics: the server's own warm-up session (warm-up.ts). */
export function privateAnswers(): Answers {
  return new LRUCache<string, Entry>({
    maxSize: MAX_BYTES,
    sizeCalculation: (entry, key) => entry.bytes + key.length,
  });
}

function count(answers: Answers, outcome: 'hit' | 'miss' | 'stored'): void {
  if (counted.has(answers)) metrics.resultCache.inc({ outcome });
}

/** The kept answer, when each of its inputs is the current read-cache entry no older than `maxAgeMs`. */
export function keptAnswer(answers: Answers, key: string, maxAgeMs: number): Result | undefined {
  const entry = answers.get(key);
  if (entry) {
    for (const input of entry.inputs)
      if (!input.cache.isCurrent(input.key, input.version, maxAgeMs)) {
        answers.delete(key);
        count(answers, 'miss');
        return undefined;
      }
    count(answers, 'hit');
    // The caller may add messages (notices) to what it is given; the frames themselves are never changed.
    const { result } = entry;
    return { ...result, messages: [...result.messages] };
  }
  count(answers, 'miss');
  return undefined;
}

/** Keeps an answer computed over `inputs`, unless some read was not a kept entry or the answer is too big. */
export function keepAnswer(answers: Answers, key: string, result: Result, inputs: ReadInputs): void {
  if (inputs.unkept || result.copy.length > 0) return;
  let bytes = result.description?.length ?? 0;
  for (const frame of result.rows) bytes += frame.length;
  for (const frame of result.messages) bytes += frame.length;
  if (bytes > MAX_ANSWER_BYTES) return;
  // The frames are views of the engine's whole reply: copied into one buffer of their own, the kept answer holds
  // only its own bytes.
  const packed = Buffer.concat(
    [result.description, ...result.rows, ...result.messages].filter((f): f is Buffer => f !== null),
    bytes,
  );
  let at = 0;
  const own = (frame: Buffer) => packed.subarray(at, (at += frame.length));
  const kept: Result = {
    ...result,
    description: result.description && own(result.description),
    rows: result.rows.map(own),
    messages: result.messages.map(own),
  };
  answers.set(key, { result: kept, inputs: inputs.entries, bytes });
  count(answers, 'stored');
}

/** Whether the tables a fetch read all come from the read cache (or the catalog): none is read afresh each time. */
export function readsOnlyCachedTables(kinds: Iterable<string>): boolean {
  for (const kind of kinds) if (!repeatableTables.has(kind)) return false;
  return true;
}

/** The engine's catalog never changes: its volatile names are read once per engine. */
const volatileNamesByEngine = new WeakMap<EngineLike, Promise<VolatileNames>>();
/** The same names once read, for a verdict needed before a statement runs (statementLeavesNothing). */
const volatileNamesRead = new WeakMap<EngineLike, VolatileNames>();

function volatileNames(engine: EngineLike): Promise<VolatileNames> {
  let names = volatileNamesByEngine.get(engine);
  if (!names) {
    names = engine
      .run({
        settings: [],
        load: [],
        messages: serializeFrontend({ type: 'Query', sql: volatileNamesSql }),
        // A SELECT of pg_proc and pg_operator.
        plain: true,
      })
      .then((bytes) => {
        const functions = new Set<string>();
        const operators = new Set<string>();
        for (const row of singleResult(bytes).result.rows) {
          const [kind, name] = dataRowTexts(row);
          (kind === 'f' ? functions : operators).add(name!.toLowerCase());
        }
        const read = { functions, operators };
        volatileNamesRead.set(engine, read);
        return read;
      });
    // A failed read is tried again by the next statement rather than remembered.
    names.catch(() => volatileNamesByEngine.delete(engine));
    volatileNamesByEngine.set(engine, names);
  }
  return names;
}

/**
 * Reads the engine's volatile names ahead of the first statement that needs them (the server calls it once the
 * warm-up is done, when the engines are idle): otherwise the first statement's own read competes with it for the CPU.
 */
export function readVolatileNames(engine: EngineLike): Promise<void> {
  return volatileNames(engine).then(
    () => {},
    () => {},
  );
}

/** `view` runs its units on `engine` (the warm-up's idle-time view of the pool): the engine's names, not read again. */
export function shareVolatileNames(view: EngineLike, engine: EngineLike): void {
  const names = volatileNames(engine);
  volatileNamesByEngine.set(view, names);
  const read = volatileNamesRead.get(engine);
  if (read) volatileNamesRead.set(view, read);
  else void names.then((r) => volatileNamesRead.set(view, r)).catch(() => volatileNamesByEngine.delete(view));
}

/** Verdicts by statement text: they depend only on the text and the engine's catalog, so sessions share them. */
const verdicts = new LRUCache<string, Repeatability>({ max: 4096 });
/**
 * The same by tree: a text that took the tree of another of its shape (parse.ts markLiteralFree) gets that text's
 * verdict without a walk, but for its own literals' date/time words ('now'), which the walk reads from the tree.
 */
const verdictsByTree = new WeakMap<object, Repeatability>();

function knownVerdict(stmt: ParsedStatement): Repeatability | undefined {
  const bySql = verdicts.get(stmt.sql);
  if (bySql || !stmt.literals) return bySql;
  const byTree = verdictsByTree.get(stmt.ast);
  if (!byTree) return undefined;
  const verdict =
    byTree.reason === undefined && paramsReadClock(stmt.literals.literals.map((l) => l.value))
      ? { ...byTree, reason: 'a date/time literal read at the moment it runs' }
      : byTree;
  verdicts.set(stmt.sql, verdict);
  return verdict;
}

function decided(stmt: ParsedStatement, names: VolatileNames): Repeatability {
  const verdict = repeatability(stmt, names);
  verdicts.set(stmt.sql, verdict);
  if (!stmt.literals) verdictsByTree.set(stmt.ast, verdict);
  return verdict;
}

/** The verdict on a statement text already decided; undefined when none is yet (its answer is then not kept). */
export function knownRepeatability(sql: string): Repeatability | undefined {
  return verdicts.get(sql);
}

/**
 * Whether running the statement can leave nothing in the engine that its unit's rollback does not undo (see
 * Repeatability.leavesNothing), decided before it runs. False until the engine's volatile names are read (the first
 * call starts that read), then decided once per distinct statement text, as repeatabilityOf is.
 */
export function statementLeavesNothing(stmt: ParsedStatement, engine: EngineLike): boolean {
  if (stmt.kind !== 'select') return false;
  const known = knownVerdict(stmt);
  if (known) return known.leavesNothing;
  const names = volatileNamesRead.get(engine);
  if (!names) {
    volatileNames(engine).catch(() => {});
    return false;
  }
  return decided(stmt, names).leavesNothing;
}

/** Whether the statement's answer can be kept and for whom, decided once per distinct statement text. */
export async function repeatabilityOf(stmt: ParsedStatement, engine: EngineLike): Promise<Repeatability> {
  return knownVerdict(stmt) ?? decided(stmt, await volatileNames(engine));
}
