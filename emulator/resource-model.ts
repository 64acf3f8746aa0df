import { randomBytes, randomUUID } from 'node:crypto';
import { primaryIdentifierOf } from '../catalog/identifier.js';
import { columnTypeOf } from '../catalog/resource-type.js';
import type { JsonSchema, ResourceDefinition } from '../catalog/types.js';

export type Model = Record<string, unknown>;

export const accountId = '123456789012';

/** What a read returns: the stored model without write-only properties, which the service never returns. */
export function readModel(definition: ResourceDefinition, model: Model): Model {
  const copy: Model = {};
  for (const [name, value] of Object.entries(model)) {
    if (!definition.writeOnlyProperties.includes(name)) copy[name] = structuredClone(value);
  }
  return copy;
}

/** Services whose ARNs carry no region (global services); S3's carry no account either. */
const noRegion = new Set(['iam', 's3', 'cloudfront', 'route53', 'organizations', 'globalaccelerator']);
const noAccount = new Set(['s3']);

/**
 * ID prefixes AWS uses, by the type name's last part, where the type name makes them obvious: EC2's `vpc-`,
 * `subnet-`, `sg-`...; IAM's unique ids (`AROA...`). Any other EC2 type takes the initials of its name's words
 * (`TransitGateway` -> `tgw-`... `tg-`); other services' ids are UUIDs.
 */
const ec2Prefixes: Record<string, string> = {
  VPC: 'vpc',
  Subnet: 'subnet',
  SecurityGroup: 'sg',
  InternetGateway: 'igw',
  RouteTable: 'rtb',
  Instance: 'i',
  Volume: 'vol',
  NatGateway: 'nat',
  NetworkInterface: 'eni',
  NetworkAcl: 'acl',
  KeyPair: 'key',
  LaunchTemplate: 'lt',
  TransitGateway: 'tgw',
  VPCEndpoint: 'vpce',
  EIP: 'eipalloc',
  DHCPOptions: 'dopt',
  VPCPeeringConnection: 'pcx',
};
const iamPrefixes: Record<string, string> = {
  Role: 'AROA',
  User: 'AIDA',
  Group: 'AGPA',
  InstanceProfile: 'AIPA',
  ManagedPolicy: 'ANPA',
};

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}

function words(name: string): string[] {
  return name
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(' ');
}

/** An id shaped like the ones AWS gives this type's resources. */
function idFor(definition: ResourceDefinition): string {
  const [, service, last = ''] = definition.typeName.split('::');
  if (service === 'EC2') {
    const prefix =
      ec2Prefixes[last] ??
      words(last)
        .map((w) => w[0]!.toLowerCase())
        .join('');
    return `${prefix}-0${hex(16)}`;
  }
  if (service === 'IAM' && iamPrefixes[last] !== undefined) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const bytes = randomBytes(17);
    return iamPrefixes[last] + [...bytes].map((b) => alphabet[b % 32]).join('');
  }
  return randomUUID();
}

/** `AWS::AppFlow::ConnectorProfile` -> `connectorprofile`: the resource part of the type's ARNs. */
function arnResource(typeName: string): string {
  return (typeName.split('::').pop() ?? typeName).toLowerCase();
}

function arnOf(service: string, region: string, resource: string, account: string): string {
  const r = noRegion.has(service) ? '' : region;
  const a = noAccount.has(service) ? '' : account;
  return `arn:aws:${service}:${r}:${a}:${resource}`;
}

/** A string in a name's place: `<kebab-case type name>-<12 random characters>`, as CloudFormation names things. */
function generatedName(definition: ResourceDefinition): string {
  const last = definition.typeName.split('::').pop() ?? 'resource';
  return `${words(last).join('-').toLowerCase()}-${hex(12)}`;
}

type Kind = 'own-arn' | 'secret-arn' | 'other-arn' | 'id' | 'time' | 'name';

/**
 * What a read-only (or missing identifier) property is, from its name and type alone:
 * - `Arn`, `<TypeName>Arn`, or the type's only read-only ARN: the resource's own ARN,
 *   `arn:aws:<service>:<region>:<account>:<typename in lower case>/<identifier>`;
 * - another `*Arn` when the create handler creates a secret (`secretsmanager:CreateSecret`): the secret the
 *   service keeps the credentials in, `arn:aws:secretsmanager:<region>:<account>:secret:<service>!<account>-<id>-<6>`;
 * - any other `*Arn`: `arn:aws:<service>:<region>:<account>:<property noun in lower case>/<identifier>`;
 * - `Id` or `*Id`: an id shaped as AWS's (EC2 and IAM prefixes, else a UUID);
 * - `CreationTime`, `*Time`, `*Timestamp`, `*Date`, `CreatedAt`, `*At`: now, ISO 8601 (epoch seconds if numeric);
 * - an identifier part none of those fill: a generated name.
 */
function kindOf(definition: ResourceDefinition, name: string, readOnlyArns: string[]): Kind | undefined {
  const last = definition.typeName.split('::').pop() ?? '';
  if (/Arn$/.test(name)) {
    if (name === 'Arn' || name === `${last}Arn` || readOnlyArns.length === 1) return 'own-arn';
    const create = definition.permissions.create ?? [];
    return create.includes('secretsmanager:CreateSecret') ? 'secret-arn' : 'other-arn';
  }
  if (/(^|[a-z])Id$/.test(name) || name === 'ID') return 'id';
  if (/(Time|Timestamp|Date|At)$/.test(name) || /^(CreationTime|CreatedAt|LastModified)/.test(name))
    return 'time';
  return undefined;
}

/**
 * Fills what the service itself sets on create, by generic rules over the property names and types (kindOf):
 * read-only properties, and identifier parts the DesiredState left out (S3 names a bucket without BucketName).
 * Only string, integer and number properties are filled; others stay absent, as a handler may leave them.
 */
export function withGeneratedProperties(
  definition: ResourceDefinition,
  desired: Model,
  region: string,
  account = accountId,
): Model {
  const model = structuredClone(desired);
  const properties = (definition.schema.properties ?? {}) as Record<string, JsonSchema>;
  const service = (definition.typeName.split('::')[1] ?? '').toLowerCase();
  const readOnlyArns = definition.readOnlyProperties.filter((n) => /Arn$/.test(n));
  const wanted = [
    ...definition.readOnlyProperties,
    ...definition.primaryIdentifier.filter((n) => !definition.readOnlyProperties.includes(n)),
  ].filter((n) => model[n] === undefined && properties[n] !== undefined);
  const typeOf = (n: string) => columnTypeOf(properties[n]!, definition.schema);

  // Ids and names first: the ARNs name the resource by its identifier.
  const later: [string, Kind][] = [];
  for (const name of wanted) {
    const kind =
      kindOf(definition, name, readOnlyArns) ??
      (definition.primaryIdentifier.includes(name) ? 'name' : undefined);
    const type = typeOf(name);
    if (kind === undefined) continue;
    if (type === 'bigint' || type === 'numeric') {
      model[name] = kind === 'time' ? Math.floor(Date.now() / 1000) : Number.parseInt(hex(8), 16);
      continue;
    }
    if (type !== 'text') continue;
    if (kind === 'id') model[name] = idFor(definition);
    else if (kind === 'time') model[name] = new Date().toISOString();
    else if (kind === 'name') model[name] = generatedName(definition);
    else later.push([name, kind]);
  }
  // An identifier that is itself an ARN names the resource by its name, when it has one.
  const nameProperty = Object.keys(properties).find((n) => n === 'Name' || /Name$/.test(n));
  const arnOwnId = () => {
    const id = primaryIdentifierOf(definition, model);
    if (id !== undefined) return id;
    const name = nameProperty === undefined ? undefined : model[nameProperty];
    return typeof name === 'string' ? name : randomUUID();
  };
  const random = hex(6);
  for (const [name, kind] of later) {
    const id = arnOwnId();
    // An S3 ARN is the bucket's name alone (`arn:aws:s3:::my-bucket`).
    if (kind === 'own-arn')
      model[name] = arnOf(
        service,
        region,
        noAccount.has(service) ? id : `${arnResource(definition.typeName)}/${id}`,
        account,
      );
    else if (kind === 'secret-arn')
      model[name] =
        `arn:aws:secretsmanager:${region}:${account}:secret:${service}!${account}-${id}-${random}`;
    else model[name] = arnOf(service, region, `${name.slice(0, -3).toLowerCase()}/${id}`, account);
  }
  return model;
}
