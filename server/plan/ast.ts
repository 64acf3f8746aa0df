/**
 * Small readers over the parser's JSON. Nodes are `{ TypeName: body }`; fields the protobuf encoding
 * treats as default (0, false, '') are absent, so every reader supplies the default itself.
 */

export type Body = Record<string, unknown>;

export function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body of `node` when it is a `type` node, else undefined. */
export function as(node: unknown, type: string): Body | undefined {
  if (!isObject(node)) return undefined;
  const body = node[type];
  return isObject(body) ? body : undefined;
}

/**
 * Every node anywhere under `node` as its type and body, outermost first. Collected by plain recursion into one
 * array: a generator delegating with yield* costs each node a step per level above it (a catalog query's tree is
 * 20 to 40 deep), which made these walks most of a statement's planning.
 */
export function nodes(node: unknown): [string, Body][] {
  const out: [string, Body][] = [];
  collect(node, out);
  return out;
}

function collect(node: unknown, out: [string, Body][]): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
    return;
  }
  if (!isObject(node)) return;
  for (const type of Object.keys(node)) {
    const value = node[type];
    if (typeof value !== 'object' || value === null) continue;
    if (!Array.isArray(value)) out.push([type, value as Body]);
    collect(value, out);
  }
}

/** The body of every `type` node anywhere under `node`, outermost first. */
export function nodesOf(node: unknown, type: string): Body[] {
  const out: Body[] = [];
  for (const [t, body] of nodes(node)) if (t === type) out.push(body);
  return out;
}

/** The single body of the statement node `{ Type: body }`. */
export function bodyOf(ast: Record<string, unknown>): Body {
  const body = Object.values(ast)[0];
  return isObject(body) ? body : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `{ String: { sval } }` -> sval. */
export function stringValue(node: unknown): string | undefined {
  const s = as(node, 'String');
  return s ? String(s.sval ?? '') : undefined;
}

/** Names such as a ColumnRef's fields or an operator's name: the String parts, in order. */
export function names(nodes: unknown): (string | undefined)[] {
  return list(nodes).map(stringValue);
}

export type ConstValue =
  | { type: 'string'; value: string }
  | { type: 'number'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' };

/** An A_Const's value. Integers keep their text form (`ival: {}` is 0). */
export function constValue(node: unknown): ConstValue | undefined {
  const c = as(node, 'A_Const');
  if (!c) return undefined;
  if (c.isnull) return { type: 'null' };
  if (isObject(c.sval)) return { type: 'string', value: String(c.sval.sval ?? '') };
  if (isObject(c.ival)) return { type: 'number', value: String(c.ival.ival ?? 0) };
  if (isObject(c.fval)) return { type: 'number', value: String(c.fval.fval ?? '0') };
  if (isObject(c.boolval)) return { type: 'boolean', value: Boolean(c.boolval.boolval) };
  if (isObject(c.bsval)) return { type: 'string', value: String(c.bsval.bsval ?? '') };
  return undefined;
}

/**
 * A DefElem's argument as text, the way PostgreSQL's defGetString reads it; `true` when the option
 * has no argument (`EXPLAIN (ANALYZE)`, `COPY ... (HEADER)`).
 */
export function defElemValue(arg: unknown): string | true {
  if (arg === undefined) return true;
  const s = stringValue(arg);
  if (s !== undefined) return s;
  const i = as(arg, 'Integer');
  if (i) return String(i.ival ?? 0);
  const f = as(arg, 'Float');
  if (f) return String(f.fval ?? '0');
  const b = as(arg, 'Boolean');
  if (b) return b.boolval ? 'true' : 'false';
  const c = constValue(arg);
  if (c && c.type !== 'null') return String(c.value);
  const l = as(arg, 'List');
  if (l)
    return names(l.items)
      .filter((x) => x !== undefined)
      .join(', ');
  const star = as(arg, 'A_Star');
  if (star) return '*';
  return true;
}

/** DefElems of an options list as name -> value. */
export function defElems(options: unknown): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const item of list(options)) {
    const d = as(item, 'DefElem');
    if (d && typeof d.defname === 'string') out[d.defname] = defElemValue(d.arg);
  }
  return out;
}

/** PostgreSQL's boolean option parsing (defGetBoolean). */
export function isTrue(value: string | true | undefined): boolean {
  if (value === undefined) return false;
  if (value === true) return true;
  return ['true', 'on', '1', 'yes', 't', 'y'].includes(value.toLowerCase());
}
