/**
 * The session's GUC values. The engine is shared by every client, so a SET never stays in it: the bridge
 * keeps the values and applies them at the start of each unit the session runs.
 */
export class Settings {
  private values: Map<string, string>;
  /** Values as they were when the transaction block (or a savepoint) started, to restore on rollback. */
  private snapshots: { name: string | null; values: Map<string, string>; local: Map<string, string> }[] = [];
  /** SET LOCAL values: they end with the transaction block. */
  private local = new Map<string, string>();
  /**
   * Bumped by every change (SET, RESET, set_config, a block's end or rollback): a kept answer computed under one
   * version is computed under these values.
   */
  version = 0;

  constructor(private readonly initial: Map<string, string>) {
    this.values = new Map(initial);
  }

  /** Name/value pairs for EngineUnit.settings, transaction-local values last so they win. */
  forUnit(): [string, string][] {
    // client_encoding stays in the bridge: the engine speaks UTF8 and the connection converts.
    return [...this.values, ...this.local].filter(([name]) => name !== 'client_encoding');
  }

  get(name: string): string | undefined {
    return this.local.get(name) ?? this.values.get(name);
  }

  set(name: string, value: string, local: boolean): void {
    this.version++;
    if (local) this.local.set(name, value);
    else {
      this.values.set(name, value);
      this.local.delete(name);
    }
  }

  /** RESET name: back to the value the client started with, or the engine's default. */
  reset(name: string): void {
    this.version++;
    this.local.delete(name);
    const start = this.initial.get(name);
    if (start === undefined) this.values.delete(name);
    else this.values.set(name, start);
  }

  resetAll(): void {
    this.version++;
    this.values = new Map(this.initial);
    this.local.clear();
  }

  beginBlock(): void {
    this.version++;
    this.snapshots = [{ name: null, values: new Map(this.values), local: new Map() }];
  }

  savepoint(name: string): void {
    this.version++;
    this.snapshots.push({ name, values: new Map(this.values), local: new Map(this.local) });
  }

  /** ROLLBACK TO SAVEPOINT: restore the values of that savepoint, which stays defined. */
  rollbackTo(name: string): void {
    this.version++;
    const i = this.findSavepoint(name);
    if (i < 0) return;
    this.values = new Map(this.snapshots[i]!.values);
    this.local = new Map(this.snapshots[i]!.local);
    this.snapshots.length = i + 1;
  }

  release(name: string): void {
    const i = this.findSavepoint(name);
    if (i >= 0) this.snapshots.length = i;
  }

  commitBlock(): void {
    this.version++;
    this.snapshots = [];
    this.local.clear();
  }

  rollbackBlock(): void {
    this.version++;
    if (this.snapshots.length > 0) this.values = new Map(this.snapshots[0]!.values);
    this.snapshots = [];
    this.local.clear();
  }

  private findSavepoint(name: string): number {
    for (let i = this.snapshots.length - 1; i > 0; i--) if (this.snapshots[i]!.name === name) return i;
    return -1;
  }
}

/** Parses the startup packet's `options` (`-c name=value` and `--name=value`), as libpq sends them. */
export function startupOptions(options: string | undefined): [string, string][] {
  if (!options) return [];
  const words = options.match(/(?:\\.|[^\s\\])+/g) ?? [];
  const unescape = (w: string) => w.replace(/\\(.)/g, '$1');
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    let word = unescape(words[i]!);
    if (word === '-c' && i + 1 < words.length) word = unescape(words[++i]!);
    else if (word.startsWith('-c')) word = word.slice(2);
    else if (word.startsWith('--')) word = word.slice(2);
    else continue;
    const eq = word.indexOf('=');
    if (eq > 0) out.push([word.slice(0, eq).toLowerCase().replace(/-/g, '_'), word.slice(eq + 1)]);
  }
  return out;
}
