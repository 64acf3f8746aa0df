import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { ResourceDefinition } from '../catalog/types.js';
import { errors } from './errors.js';
import { validateModel } from './model-validation.js';
import { readModel, type Model } from './resource-model.js';

const opsThatWrite: Record<string, ('path' | 'from')[]> = {
  add: ['path'],
  remove: ['path'],
  replace: ['path'],
  move: ['path', 'from'],
  copy: ['path'],
  test: [],
};

/**
 * UpdateResource's PatchDocument, applied as the service does: to the current read model (so write-only
 * properties can only be set with `add`), all ops or none, then the result validated against the schema.
 * Write-only values the patch does not set are kept, as the handler keeps them, though no read shows them.
 */
export function patchedModel(definition: ResourceDefinition, stored: Model, patchDocument: string): Model {
  const ops = parsePatchDocument(patchDocument);
  rejectImmutableChanges(definition, ops);
  let patched: Model;
  try {
    patched = jsonpatch.applyPatch(readModel(definition, stored), ops, true, false).newDocument;
  } catch (e) {
    if (e instanceof jsonpatch.JsonPatchError) {
      throw errors.validation(`Invalid patch update: ${e.message.split('\n')[0]} (${e.name})`);
    }
    throw e;
  }
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
    throw errors.validation('Invalid patch update: the patched resource model is not a JSON object');
  }
  for (const name of definition.writeOnlyProperties) {
    if (!(name in patched) && name in stored) patched[name] = structuredClone(stored[name]);
  }
  validateModel(definition, patched);
  return patched;
}

function parsePatchDocument(text: string): Operation[] {
  let ops: unknown;
  try {
    ops = JSON.parse(text);
  } catch {
    throw errors.validation('Invalid patch document: PatchDocument is not valid JSON');
  }
  const problem = jsonpatch.validate(ops as Operation[]);
  if (problem !== undefined) {
    throw errors.validation(`Invalid patch document: ${problem.message.split('\n')[0]} (${problem.name})`);
  }
  return ops as Operation[];
}

function rejectImmutableChanges(definition: ResourceDefinition, ops: Operation[]): void {
  const touched = new Set<string>();
  for (const op of ops) {
    for (const key of opsThatWrite[op.op] ?? []) {
      const pointer = (op as unknown as Record<string, string>)[key]!;
      const top = pointer.split('/')[1];
      // A root path rewrites every property.
      if (top === undefined) Object.keys(definition.schema.properties ?? {}).forEach((n) => touched.add(n));
      else touched.add(jsonpatch.unescapePathComponent(top));
    }
  }
  const named = (names: string[]) => names.filter((n) => touched.has(n)).map((n) => `/properties/${n}`);
  const createOnly = named(definition.createOnlyProperties);
  if (createOnly.length > 0) throw errors.notUpdatable(createOnly);
  const readOnly = named(definition.readOnlyProperties);
  if (readOnly.length > 0) {
    throw errors.validation(
      `Invalid patch update: readOnlyProperties [${readOnly.join(', ')}] cannot be updated`,
    );
  }
}
