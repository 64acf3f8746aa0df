import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { closed } from '../catalog/registry/definitions.js';
import type { ResourceDefinition } from '../catalog/types.js';
import { errors } from './errors.js';

/**
 * Validates resource models against the type's registry schema and words the failures as the live service
 * does. Its handlers validate with everit-json-schema and report every leaf violation, one per line, inside
 * "Model validation failed (...)": `#: required key [ConnectorType] not found`,
 * `#/ConnectionMode: Foo is not a valid enum value`.
 */

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const ajv = new Ajv({
  strict: false,
  allErrors: true,
  verbose: true,
  unicodeRegExp: false,
  validateSchema: false,
});
addFormats(ajv);

interface TypeValidators {
  /** CreateResource: read-only properties are the service's to set, so DesiredState may not hold them. */
  desiredState: ValidateFunction;
  /** UpdateResource: the whole model after the patch, read-only properties included. */
  model: ValidateFunction;
}

const compiled = new Map<string, Partial<TypeValidators>>();

/** Compiled when first needed: a large registry schema (AWS::S3::Bucket) takes ajv about half a second. */
function validatorOf(definition: ResourceDefinition, kind: keyof TypeValidators): ValidateFunction {
  let validators = compiled.get(definition.typeName);
  if (validators === undefined) compiled.set(definition.typeName, (validators = {}));
  return (validators[kind] ??= compile(
    kind === 'model'
      ? definition.schema
      : withoutProperties(definition.schema, definition.readOnlyProperties),
  ));
}

/**
 * Registry patterns are Java regular expressions; a few do not compile in JavaScript (`\\p{Alnum}`, possessive
 * quantifiers). The schema is compiled without those patterns rather than refusing the type.
 */
function compile(raw: Record<string, unknown>): ValidateFunction {
  const schema = closed(raw) as Record<string, unknown>;
  try {
    return ajv.compile(schema);
  } catch {
    return ajv.compile(withoutBadPatterns(schema) as Record<string, unknown>);
  }
}

function withoutBadPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutBadPatterns);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'pattern' && typeof value === 'string' && !compiles(value)) continue;
    if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(
        Object.entries(value)
          .filter(([p]) => compiles(p))
          .map(([p, v]) => [p, withoutBadPatterns(v)]),
      );
      continue;
    }
    out[key] = withoutBadPatterns(value);
  }
  return out;
}

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function withoutProperties(schema: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const properties = { ...(schema.properties as Record<string, unknown>) };
  for (const name of names) delete properties[name];
  const required = (schema.required as string[] | undefined)?.filter((name) => !names.includes(name));
  return { ...schema, properties, ...(required ? { required } : {}) };
}

export function validateDesiredState(definition: ResourceDefinition, model: unknown): void {
  check(validatorOf(definition, 'desiredState'), model);
}

export function validateModel(definition: ResourceDefinition, model: unknown): void {
  check(validatorOf(definition, 'model'), model);
}

function check(validate: ValidateFunction, model: unknown): void {
  if (validate(model)) return;
  const messages = [...new Set(leafErrors(validate.errors ?? []).map(describe))];
  throw errors.validation(`Model validation failed (${messages.join('\n')})`);
}

/** everit reports a failed oneOf/anyOf once, not the failures inside each of its branches. */
function leafErrors(all: ErrorObject[]): ErrorObject[] {
  return all.filter((e) => !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath) && e.keyword !== 'if');
}

function describe(e: ErrorObject): string {
  const at = `#${e.instancePath}`;
  const p = e.params as Record<string, unknown>;
  const data = e.data;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: extraneous key [${String(p.additionalProperty)}] is not permitted`;
    case 'required':
      return `${at}: required key [${String(p.missingProperty)}] not found`;
    case 'enum':
      return `${at}: ${javaString(data)} is not a valid enum value`;
    case 'const':
      return `${at}: ${javaString(data)} does not match the const value`;
    case 'type':
      return `${at}: expected type: ${javaTypeOfSchema(String(p.type))}, found: ${javaTypeOf(data)}`;
    case 'pattern':
      return `${at}: string [${String(data)}] does not match pattern ${String(p.pattern)}`;
    case 'maxLength':
    case 'minLength':
      return `${at}: expected ${e.keyword}: ${String(p.limit)}, actual: ${[...String(data)].length}`;
    case 'minimum':
      return `${at}: ${String(data)} is not greater or equal to ${String(p.limit)}`;
    case 'maximum':
      return `${at}: ${String(data)} is not less or equal to ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `${at}: ${String(data)} is not greater than ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `${at}: ${String(data)} is not less than ${String(p.limit)}`;
    case 'minItems':
      return `${at}: expected minimum item count: ${String(p.limit)}, found: ${(data as unknown[]).length}`;
    case 'maxItems':
      return `${at}: expected maximum item count: ${String(p.limit)}, found: ${(data as unknown[]).length}`;
    case 'uniqueItems':
      return `${at}: array items are not unique`;
    case 'minProperties':
      return `${at}: minimum size: [${String(p.limit)}], found: [${Object.keys(data as object).length}]`;
    case 'maxProperties':
      return `${at}: maximum size: [${String(p.limit)}], found: [${Object.keys(data as object).length}]`;
    case 'format':
      return `${at}: [${String(data)}] is not a valid ${String(p.format)}`;
    case 'oneOf': {
      const passing = p.passingSchemas as number[] | null;
      return `${at}: #: ${passing ? passing.length : 0} subschemas matched instead of one`;
    }
    case 'anyOf':
      return `${at}: #: no subschema matched out of the total ${(e.schema as unknown[]).length} subschemas`;
    default:
      return `${at}: failed validation constraint for keyword [${e.keyword}]`;
  }
}

function javaString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function javaTypeOfSchema(type: string): string {
  const names: Record<string, string> = {
    string: 'String',
    integer: 'Integer',
    number: 'Number',
    boolean: 'Boolean',
    object: 'JSONObject',
    array: 'JSONArray',
    null: 'Null',
  };
  return type
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ');
}

/** The Java class org.json parses a value into, which is what everit names in "found: ...". */
export function javaTypeOf(value: unknown): string {
  if (value === null) return 'Null';
  if (Array.isArray(value)) return 'JSONArray';
  switch (typeof value) {
    case 'string':
      return 'String';
    case 'boolean':
      return 'Boolean';
    case 'number':
      return Number.isInteger(value) ? 'Integer' : 'BigDecimal';
    default:
      return 'JSONObject';
  }
}
