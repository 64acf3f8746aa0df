/**
 * The part of CloudFormation that reads the resource type registry: ListTypes and DescribeType, in the
 * awsQuery protocol @aws-sdk/client-cloudformation speaks (a form-encoded POST with Action and Version;
 * an XML answer; errors as <ErrorResponse>). Served from the project's registry snapshot, loaded on first use.
 */
import { randomUUID } from 'node:crypto';
import { registrySchemas } from '../catalog/index.js';
import { compareTypeNames, provisioningTypeOf, type RegistrySchema } from '../catalog/registry/snapshot.js';
import { decodeToken, encodeToken } from './paging.js';

const xmlns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const apiVersion = '2010-05-15';
/** What ListTypes returns per page without MaxResults. */
const defaultPageSize = 50;
/** When the emulated registry says every type was registered and last changed. */
const registered = '2026-08-01T00:00:00.000Z';

/** An error as CloudFormation's awsQuery protocol writes it. */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

export const queryErrors = {
  typeNotFound: (typeName: string) =>
    new QueryError('TypeNotFoundException', 404, `The type '${typeName}' cannot be found.`),
  validation: (message: string) => new QueryError('ValidationError', 400, message),
  invalidAction: (action: string) =>
    new QueryError('InvalidAction', 400, `Could not find operation ${action} for version ${apiVersion}`),
  throttling: () => new QueryError('Throttling', 400, 'Rate exceeded'),
};

/** ListTypes and DescribeType over a snapshot of registry schemas. */
export class EmulatedRegistry {
  #byName: Map<string, RegistrySchema> | undefined;
  #sorted: RegistrySchema[] | undefined;

  constructor(private readonly load: () => readonly RegistrySchema[] = registrySchemas) {}

  /** The XML body answering one request whose form parameters are `params`. */
  handle(params: URLSearchParams, region: string): string {
    const action = params.get('Action') ?? '';
    if (action === '') throw queryErrors.validation('Action is required');
    switch (action) {
      case 'ListTypes':
        return response(action, this.listTypes(params, region));
      case 'DescribeType':
        return response(action, this.describeType(params, region));
      default:
        throw queryErrors.invalidAction(action);
    }
  }

  #types(): RegistrySchema[] {
    if (this.#sorted === undefined) {
      this.#sorted = [...this.load()].sort((a, b) => compareTypeNames(a.typeName, b.typeName));
      this.#byName = new Map(this.#sorted.map((s) => [s.typeName, s]));
    }
    return this.#sorted;
  }

  private listTypes(params: URLSearchParams, region: string): string {
    const type = oneOf(params, 'Type', ['RESOURCE', 'MODULE', 'HOOK'], 'RESOURCE');
    const visibility = oneOf(params, 'Visibility', ['PUBLIC', 'PRIVATE'], 'PRIVATE');
    const provisioning = oneOf(
      params,
      'ProvisioningType',
      ['FULLY_MUTABLE', 'IMMUTABLE', 'NON_PROVISIONABLE'],
      'FULLY_MUTABLE',
    );
    const deprecated = oneOf(params, 'DeprecatedStatus', ['LIVE', 'DEPRECATED'], 'LIVE');
    const category = params.get('Filters.Category');
    if (category !== null)
      oneOf(params, 'Filters.Category', ['REGISTERED', 'ACTIVATED', 'THIRD_PARTY', 'AWS_TYPES']);
    const prefix = params.get('Filters.TypeNamePrefix') ?? '';
    const maxResults = params.has('MaxResults') ? Number(params.get('MaxResults')) : defaultPageSize;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100)
      throw queryErrors.validation(
        `1 validation error detected: Value '${params.get('MaxResults')}' at 'maxResults' failed to satisfy constraint: ` +
          'Member must have value between 1 and 100',
      );

    // Every type here is AWS's own and public: a filter by category replaces Visibility, as the service does.
    const awsTypes = category !== null ? category === 'AWS_TYPES' : visibility === 'PUBLIC';
    const matching =
      type !== 'RESOURCE' || deprecated !== 'LIVE' || !awsTypes
        ? []
        : this.#types().filter(
            (s) => s.typeName.startsWith(prefix) && provisioningTypeOf(s) === provisioning,
          );

    // The token names the last type returned and the query it belongs to.
    const query = JSON.stringify([type, visibility, provisioning, deprecated, category, prefix]);
    let start = 0;
    const token = params.get('NextToken');
    if (token !== null) {
      const cursor = decodeToken(token, ['query', 'after']);
      if (cursor === undefined || cursor.query !== query)
        throw queryErrors.validation('Invalid NextToken provided');
      const after = String(cursor.after);
      start = matching.findIndex((s) => s.typeName > after);
      if (start === -1) start = matching.length;
    }
    const page = matching.slice(start, start + maxResults);
    const more = start + page.length < matching.length;
    const summaries = page
      .map(
        (s) =>
          '<member>' +
          element('Type', 'RESOURCE') +
          element('TypeName', s.typeName) +
          element('DefaultVersionId', '00000001') +
          element('TypeArn', typeArn(region, s.typeName)) +
          element('LastUpdated', registered) +
          element('Description', s.description ?? '') +
          element('IsActivated', 'true') +
          '</member>',
      )
      .join('');
    return (
      `<TypeSummaries>${summaries}</TypeSummaries>` +
      (more ? element('NextToken', encodeToken({ query, after: page[page.length - 1]!.typeName })) : '')
    );
  }

  private describeType(params: URLSearchParams, region: string): string {
    const arn = params.get('Arn');
    let typeName = params.get('TypeName');
    if (arn !== null) {
      if (typeName !== null)
        throw queryErrors.validation('Specify either Arn, or TypeName and Type, not both');
      const m = /^arn:aws[A-Za-z-]*:cloudformation:[a-z0-9-]+:(\d{12})?:type\/resource\/(.+)$/.exec(arn);
      if (m === null) throw queryErrors.typeNotFound(arn);
      typeName = m[2]!.replace(/-/g, '::');
    } else {
      if (typeName === null) throw queryErrors.validation('Specify either Arn, or TypeName and Type');
      if (params.get('Type') === null)
        throw queryErrors.validation('Type is required when TypeName is given');
      if (oneOf(params, 'Type', ['RESOURCE', 'MODULE', 'HOOK']) !== 'RESOURCE')
        throw queryErrors.typeNotFound(typeName);
    }
    const version = params.get('VersionId');
    this.#types();
    const schema = this.#byName!.get(typeName);
    if (schema === undefined || (version !== null && version !== '00000001'))
      throw queryErrors.typeNotFound(typeName);
    return (
      element('Arn', typeArn(region, schema.typeName)) +
      element('Type', 'RESOURCE') +
      element('TypeName', schema.typeName) +
      element('DefaultVersionId', '00000001') +
      element('IsDefaultVersion', 'true') +
      element('IsActivated', 'true') +
      element('Description', schema.description ?? '') +
      element('Schema', JSON.stringify(schema)) +
      element('ProvisioningType', provisioningTypeOf(schema)) +
      element('DeprecatedStatus', 'LIVE') +
      element('Visibility', 'PUBLIC') +
      element('TimeCreated', registered) +
      element('LastUpdated', registered)
    );
  }
}

/** `arn:aws:cloudformation:us-east-1::type/resource/AWS-S3-Bucket`: public AWS types name no account. */
function typeArn(region: string, typeName: string): string {
  return `arn:aws:cloudformation:${region}::type/resource/${typeName.replace(/::/g, '-')}`;
}

function oneOf(params: URLSearchParams, name: string, values: string[], fallback?: string): string {
  const value = params.get(name) ?? fallback;
  if (value === undefined || !values.includes(value))
    throw queryErrors.validation(
      `1 validation error detected: Value '${value ?? 'null'}' at '${name[0]!.toLowerCase()}${name.slice(1)}' ` +
        `failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  return value;
}

function response(action: string, result: string): string {
  return (
    `<${action}Response xmlns="${xmlns}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The XML body of an error. */
export function errorResponse(error: QueryError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${xmlns}"><Error>${element('Type', error.type)}${element('Code', error.code)}` +
    `${element('Message', error.message)}</Error>${element('RequestId', requestId)}</ErrorResponse>`
  );
}

function element(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** Escapes markup, and the control characters (line ends, tabs) an XML parser would otherwise normalize. */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"'\u0000-\u001f]/g, (c) => `&#${c.charCodeAt(0)};`);
}
