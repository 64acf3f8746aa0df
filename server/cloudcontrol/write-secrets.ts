import type { ResourceTable } from '../../catalog/types.js';
import type { WriteRequest } from './writes.js';

/**
 * The string leaves of the write-only properties a write sends (connection credentials, key ARNs): an AWS
 * message that echoes one gets it masked. Other values are ordinary resource properties a read shows anyway.
 */
export function writeOnlyValues(table: ResourceTable, request: WriteRequest): string[] {
  const writeOnly = new Set(table.resource.definition.secretProperties);
  const out: string[] = [];
  for (const [name, value] of Object.entries('desiredState' in request ? request.desiredState : {})) {
    if (writeOnly.has(name)) leaves(value, out);
  }
  for (const op of 'patch' in request ? request.patch : []) {
    const name = patchProperty(op.path);
    // A patch of the whole model (path "") may carry write-only values under any key.
    if (op.path === '' || (name !== undefined && writeOnly.has(name))) {
      if ('value' in op) leaves(op.value, out);
    }
  }
  return [...new Set(out)];
}

function leaves(value: unknown, out: string[], depth = 0): void {
  if (depth > 32) return;
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
  else if (Array.isArray(value)) value.forEach((v) => leaves(v, out, depth + 1));
  else if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach((v) => leaves(v, out, depth + 1));
  }
}

/** The top-level property an RFC 6902 path names: `/LoginProfile/Password` -> `LoginProfile` (`~1` is `/`). */
export function patchProperty(path: string): string | undefined {
  return path.split('/')[1]?.replace(/~1/g, '/').replace(/~0/g, '~');
}
