/**
 * Opaque NextTokens: base64 of a small JSON cursor that names the last item returned, so a page stays
 * correct when resources are created or deleted between calls.
 */

export function encodeToken(cursor: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64');
}

/** The cursor in a token, or undefined when the token is not one this emulator wrote. */
export function decodeToken(token: string, keys: string[]): Record<string, string | number> | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown;
    if (typeof cursor !== 'object' || cursor === null) return undefined;
    const record = cursor as Record<string, unknown>;
    if (!keys.every((k) => typeof record[k] === 'string' || typeof record[k] === 'number')) return undefined;
    return record as Record<string, string | number>;
  } catch {
    return undefined;
  }
}
