import v8 from 'node:v8';

/**
 * V8's interrupt budget for the serving process: how much bytecode a function runs between the checks that decide
 * to compile it further (Sparkplug, then TurboFan). Node 20's default (66 kB) suits pages and scripts, where most
 * code runs a few times; a server runs the same path for every statement, and at the default a point read's path
 * is still interpreted or baseline code, and being compiled on background threads, for its first few thousand
 * statements. At an eighth of it the path is compiled within the first few hundred. The compiled code is the same
 * (reads after thousands are as fast either way); the compiling comes sooner, so the first 200 or so statements
 * are slower (docs/BENCHMARKS.md, "Point read: V8 compiles the read path sooner").
 */
export const servingInterruptBudget = 8 * 1024;

/** `--interrupt-budget` given to node itself (node refuses it in NODE_OPTIONS). */
const operatorBudget = /^--interrupt[-_]budget(=|$)/;

/**
 * Sets the interrupt budget unless the operator gave node its own (`node --interrupt-budget=N main.js`): theirs
 * wins. Returns the budget this set, else undefined.
 */
export function tierUpSooner(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((a) => operatorBudget.test(a))) return undefined;
  v8.setFlagsFromString(`--interrupt-budget=${servingInterruptBudget}`);
  return servingInterruptBudget;
}
