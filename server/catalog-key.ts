import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotPath, type RegistrySchema } from '../catalog/registry/snapshot.js';

/** The catalog's code as this process runs it (dist/catalog, or catalog/ under ts-jest). */
const codeDir = fileURLToPath(new URL('../catalog/', import.meta.url));

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return filesUnder(full, keep);
      return e.isFile() && keep(e.name) ? [full] : [];
    })
    .sort();
}

/**
 * The files the catalog's DDL is made from: its code as built (every file under its directory) and the registry
 * data that code reads (every file of catalog/registry but its TypeScript sources: the snapshot, the StackQL table
 * names, the list handlers).
 */
export function catalogKeyFiles(): string[] {
  const registryDir = path.dirname(snapshotPath());
  return [...filesUnder(codeDir, () => true), ...filesUnder(registryDir, (name) => !/\.ts$/.test(name))];
}

/**
 * Everything the catalog's DDL is made from, hashed: the engine template is found by it without making the DDL,
 * which with every type means building the whole catalog (0.4 to 0.7 s on a quiet machine) before the engines could
 * start; the catalog is then built while they open. The inputs: catalogKeyFiles, the `--types` globs and the
 * `--extra-types` schemas. A change to any of them is another template.
 */
export function catalogKey(globs: readonly string[], extra: readonly RegistrySchema[]): string {
  const hash = createHash('sha256');
  for (const file of catalogKeyFiles()) {
    const bytes = readFileSync(file);
    hash.update(`${path.relative(codeDir, file)}\0${bytes.length}\0`).update(bytes);
  }
  hash.update(JSON.stringify({ globs, extra }));
  return `catalog ${hash.digest('hex')}`;
}
