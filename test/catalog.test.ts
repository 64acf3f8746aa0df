import { PGlite } from '@electric-sql/pglite';
import { Ajv } from 'ajv';
import { closed } from '../catalog/registry/definitions.js';
import {
  buildCatalog,
  buildResourceType,
  catalog,
  catalogDdl,
  columnToProperty,
  propertyToColumn,
  type ResourceDefinition,
  type Table,
} from '../catalog/index.js';

/** The user's spec (connector_profile.seed.md), HTML entities decoded. */
const seedFields: [column: string, type: string, description: string][] = [
  ['connector_profile_arn', 'text', 'Unique identifier for connector profile resources'],
  [
    'connector_label',
    'text',
    'The label of the connector. The label is unique for each ConnectorRegistration in your AWS account. Only needed if calling for CUSTOMCONNECTOR connector type/.',
  ],
  ['connector_profile_name', 'text', 'The maximum number of items to retrieve in a single batch.'],
  [
    'kms_arn',
    'text',
    "The ARN of the AWS Key Management Service (AWS KMS) key that's used to encrypt your function's environment variables. If it's not provided, AWS Lambda uses a default service key.",
  ],
  ['connector_type', 'text', 'List of Saas providers that need connector profile to be created'],
  [
    'connection_mode',
    'text',
    'Mode in which data transfer should be enabled. Private connection mode is currently enabled for Salesforce, Snowflake, Trendmicro and Singular',
  ],
  [
    'connector_profile_config',
    'jsonb',
    'Connector specific configurations needed to create connector profile',
  ],
  ['credentials_arn', 'text', 'A unique Arn for Connector-Profile resource'],
  ['region', 'text', 'AWS region.'],
];
// After the seed's columns: the Cloud Control parameters, then the account a row is in (not in the seed).
const columnOrder = [
  ...seedFields.map(([name]) => name),
  'data__identifier',
  'data__patchdocument',
  'account_id',
  'account_name',
];

const readPermissions = ['appflow:DescribeConnectorProfiles'];
const writeExtras = [
  'kms:ListKeys',
  'kms:DescribeKey',
  'kms:ListAliases',
  'kms:CreateGrant',
  'kms:ListGrants',
  'iam:PassRole',
  'secretsmanager:CreateSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutResourcePolicy',
];

const properties: [property: string, column: string][] = [
  ['ConnectorProfileArn', 'connector_profile_arn'],
  ['ConnectorLabel', 'connector_label'],
  ['ConnectorProfileName', 'connector_profile_name'],
  ['KMSArn', 'kms_arn'],
  ['ConnectorType', 'connector_type'],
  ['ConnectionMode', 'connection_mode'],
  ['ConnectorProfileConfig', 'connector_profile_config'],
  ['CredentialsArn', 'credentials_arn'],
];

const connectorProfile = catalog.resourceType('AWS::AppFlow::ConnectorProfile')!.definition;

function table(name: string): Table {
  const found = catalog.table('appflow', name);
  if (found === undefined) throw new Error(`appflow.${name} is not in the catalog`);
  return found;
}

describe.each(['connector_profile', 'connector_profiles'])('appflow.%s columns', (name) => {
  it('are the seed fields in order, then data__identifier, data__patchdocument, account_id and account_name', () => {
    expect(table(name).columns.map((c) => c.name)).toEqual(columnOrder);
  });

  it('have the seed types and descriptions', () => {
    const columns = table(name).columns;
    for (const [column, type, description] of seedFields) {
      expect(columns.find((c) => c.name === column)).toMatchObject({ type, description });
    }
    const pseudo = Object.fromEntries(columns.map((c) => [c.name, c]));
    expect(pseudo.data__identifier.type).toBe('text');
    expect(pseudo.data__identifier.description).toMatch(/primary identifier \(ConnectorProfileName\)/);
    expect(pseudo.data__patchdocument.type).toBe('text');
    expect(pseudo.data__patchdocument.description).toMatch(/RFC 6902 JSON Patch.*always NULL when read/);
  });

  it('carry the schema flags and push down only region, data__identifier and the account', () => {
    const flags = Object.fromEntries(table(name).columns.map((c) => [c.name, { ...c.flags, key: c.key }]));
    const none = {
      identifier: false,
      requiredOnCreate: false,
      readOnly: false,
      writeOnly: false,
      createOnly: false,
      key: false,
    };
    expect(flags).toEqual({
      connector_profile_arn: { ...none, readOnly: true },
      connector_label: { ...none, createOnly: true },
      connector_profile_name: { ...none, identifier: true, requiredOnCreate: true, createOnly: true },
      kms_arn: { ...none, writeOnly: true },
      connector_type: { ...none, requiredOnCreate: true, createOnly: true },
      connection_mode: { ...none, requiredOnCreate: true },
      connector_profile_config: { ...none, writeOnly: true },
      credentials_arn: { ...none, readOnly: true },
      region: { ...none, key: true },
      data__identifier: { ...none, identifier: true, key: true },
      data__patchdocument: { ...none, writeOnly: true },
      account_id: { ...none, key: true },
      account_name: { ...none, key: true },
    });
  });
});

describe('tables', () => {
  it('are described as the seed and the brief word them', () => {
    expect(table('connector_profile')).toMatchObject({
      schema: 'appflow',
      kind: 'resource',
      description: 'Resource Type definition for AWS::AppFlow::ConnectorProfile',
    });
    expect(table('connector_profiles')).toMatchObject({
      schema: 'appflow',
      kind: 'collection',
      description:
        'Lists, creates and deletes AWS::AppFlow::ConnectorProfile resources; use connector_profile to get or update one',
    });
  });

  it('are found only by the lower-case names Postgres folds to', () => {
    expect(catalog.table('appflow', 'Connector_Profile')).toBeUndefined();
    expect(catalog.table('aws', 'connector_profile')).toBeUndefined();
    expect(catalog.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(
      expect.arrayContaining([
        'appflow.connector_profile',
        'appflow.connector_profiles',
        'cloud_control.resource_requests',
        'cloud_control.resource_types',
        'cloud_control.resources',
      ]),
    );
    expect(catalog.resourceType('AWS::AppFlow::ConnectorProfile')?.tables).toEqual(
      catalog.tables.filter((t) => t.schema === 'appflow' && t.name.startsWith('connector_profile')),
    );
  });

  it('connector_profile gets and updates one resource, with the seed required params', () => {
    expect(table('connector_profile').methods).toEqual([
      {
        name: 'update_resource',
        verb: 'UPDATE',
        operation: 'UpdateResource',
        requiredParams: ['data__Identifier', 'data__PatchDocument', 'region'],
        permissions: ['appflow:UpdateConnectorProfile', ...writeExtras],
      },
      {
        name: 'get_resource',
        verb: 'SELECT',
        operation: 'GetResource',
        requiredParams: ['data__Identifier', 'region'],
        permissions: readPermissions,
      },
    ]);
  });

  it('connector_profiles lists, creates, deletes and updates', () => {
    expect(table('connector_profiles').methods).toEqual([
      {
        name: 'list_resources',
        verb: 'SELECT',
        operation: 'ListResources',
        requiredParams: ['region'],
        permissions: readPermissions,
      },
      {
        name: 'create_resource',
        verb: 'INSERT',
        operation: 'CreateResource',
        requiredParams: ['ConnectorProfileName', 'ConnectionMode', 'ConnectorType', 'region'],
        permissions: ['appflow:CreateConnectorProfile', ...writeExtras],
      },
      {
        name: 'delete_resource',
        verb: 'DELETE',
        operation: 'DeleteResource',
        requiredParams: ['data__Identifier', 'region'],
        permissions: ['appflow:DeleteConnectorProfile'],
      },
      {
        name: 'update_resource',
        verb: 'UPDATE',
        operation: 'UpdateResource',
        requiredParams: ['data__Identifier', 'data__PatchDocument', 'region'],
        permissions: ['appflow:UpdateConnectorProfile', ...writeExtras],
      },
    ]);
  });
});

describe('naming', () => {
  const names = properties.map(([property]) => property);

  it.each(properties)('%s <-> %s', (property, column) => {
    expect(propertyToColumn(property)).toBe(column);
    expect(columnToProperty(column, names)).toBe(property);
  });

  it('covers every property of the schema', () => {
    const schemaProperties = Object.keys(connectorProfile.schema.properties as object);
    expect(names.slice().sort()).toEqual(schemaProperties.sort());
  });

  it('splits acronym runs and lower-case starts', () => {
    expect(propertyToColumn('ConnectorProfileARN')).toBe('connector_profile_arn');
    expect(propertyToColumn('isSandboxEnvironment')).toBe('is_sandbox_environment');
    expect(propertyToColumn('DisableSSO')).toBe('disable_sso');
  });

  it('inverts through the property list, so the acronym comes back and unknown columns do not', () => {
    expect(columnToProperty('kms_arn', ['KmsArn'])).toBe('KmsArn');
    expect(columnToProperty('KMS_ARN', names)).toBe('KMSArn');
    expect(columnToProperty('region', names)).toBeUndefined();
    const type = catalog.resourceType('AWS::AppFlow::ConnectorProfile');
    expect(type?.propertyByColumn('kms_arn')?.name).toBe('KMSArn');
    expect(type?.propertyByName('KMSArn')?.column).toBe('kms_arn');
    expect(type?.propertyByColumn('data__identifier')).toBeUndefined();
  });
});

describe('schema', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(
    closed(connectorProfile.schema) as object,
  );
  const salesforce = {
    ConnectorProfileName: 'sales-prod',
    ConnectorType: 'Salesforce',
    ConnectionMode: 'Public',
    KMSArn: 'arn:aws:kms:us-east-1:123456789012:key/abcd-1234',
    ConnectorProfileConfig: {
      ConnectorProfileProperties: {
        Salesforce: { InstanceUrl: 'https://example.my.salesforce.com', isSandboxEnvironment: false },
      },
      ConnectorProfileCredentials: {
        Salesforce: {
          AccessToken: 'token',
          RefreshToken: 'refresh',
          ConnectorOAuthRequest: { AuthCode: 'code', RedirectUri: 'https://login.salesforce.com' },
        },
      },
    },
  };
  const errorsOf = (model: unknown) => (validate(model) ? [] : (validate.errors ?? []));

  it('accepts a Salesforce DesiredState', () => {
    expect(errorsOf(salesforce)).toEqual([]);
  });

  it('rejects extraneous keys at the top and inside the connector config', () => {
    expect(errorsOf({ ...salesforce, Tags: [] })).toContainEqual(
      expect.objectContaining({ keyword: 'additionalProperties', params: { additionalProperty: 'Tags' } }),
    );
    const nested = structuredClone(salesforce);
    Object.assign(nested.ConnectorProfileConfig.ConnectorProfileCredentials.Salesforce, { Password: 'x' });
    expect(errorsOf(nested)).toContainEqual(
      expect.objectContaining({
        instancePath: '/ConnectorProfileConfig/ConnectorProfileCredentials/Salesforce',
        params: { additionalProperty: 'Password' },
      }),
    );
  });

  it('enforces required keys, enums, patterns and lengths', () => {
    const noMode: Partial<typeof salesforce> = { ...salesforce };
    delete noMode.ConnectionMode;
    expect(errorsOf(noMode)).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'ConnectionMode' } }),
    );
    expect(errorsOf({ ...salesforce, ConnectorType: 'Salesforce2' })).toContainEqual(
      expect.objectContaining({ instancePath: '/ConnectorType', keyword: 'enum' }),
    );
    expect(errorsOf({ ...salesforce, KMSArn: 'arn:aws:s3:::bucket-name-long' })).toContainEqual(
      expect.objectContaining({ instancePath: '/KMSArn', keyword: 'pattern' }),
    );
    expect(errorsOf({ ...salesforce, ConnectorProfileName: 'x'.repeat(257) })).toContainEqual(
      expect.objectContaining({ instancePath: '/ConnectorProfileName', keyword: 'maxLength' }),
    );
    const snowflake = {
      ConnectorProfileName: 'snow',
      ConnectorType: 'Snowflake',
      ConnectionMode: 'Private',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: { Snowflake: { Warehouse: 'wh', Stage: 'db.schema.stage' } },
        ConnectorProfileCredentials: { Snowflake: { Username: 'u', Password: 'p' } },
      },
    };
    expect(errorsOf(snowflake)).toEqual([
      expect.objectContaining({
        instancePath: '/ConnectorProfileConfig/ConnectorProfileProperties/Snowflake',
        params: { missingProperty: 'BucketName' },
      }),
    ]);
  });
});

describe('generic mapping', () => {
  const widget: ResourceDefinition = {
    typeName: 'AWS::Test::Widget',
    service: 'test',
    description: 'A widget',
    schema: {
      type: 'object',
      properties: {
        WidgetId: { type: 'string', description: 'Id' },
        Size: { type: 'integer' },
        Ratio: { type: 'number' },
        Enabled: { type: 'boolean' },
        Tags: { type: 'array', items: { type: 'string' } },
        Colour: { $ref: '#/definitions/Colour' },
        IOPSLimit: { type: ['integer', 'null'] },
      },
      definitions: { Colour: { enum: ['Red', 'Blue'], description: 'From the definition' } },
      required: ['Size'],
    },
    propertyOrder: ['WidgetId', 'Size', 'Ratio', 'Enabled', 'Tags', 'Colour', 'IOPSLimit'],
    descriptions: { Size: 'How big' },
    primaryIdentifier: ['WidgetId'],
    readOnlyProperties: ['WidgetId'],
    writeOnlyProperties: [],
    secretProperties: [],
    createOnlyProperties: [],
    permissions: { create: ['c'], read: ['r'], update: ['u'], delete: ['d'], list: ['l'] },
    tables: { resource: 'widget', collection: 'widgets' },
  };

  it('maps JSON types to column types and takes descriptions from overrides, properties or definitions', () => {
    const type = buildResourceType(widget);
    expect(type.properties.map((p) => [p.column, p.type, p.description])).toEqual([
      ['widget_id', 'text', 'Id'],
      ['size', 'bigint', 'How big'],
      ['ratio', 'numeric', ''],
      ['enabled', 'boolean', ''],
      ['tags', 'jsonb', ''],
      ['colour', 'text', 'From the definition'],
      ['iops_limit', 'bigint', ''],
    ]);
    expect(type.tables[1].methods.find((m) => m.name === 'create_resource')?.requiredParams).toEqual([
      'Size',
      'region',
    ]);
  });

  it('refuses a propertyOrder that does not list each schema property', () => {
    expect(() => buildResourceType({ ...widget, propertyOrder: ['WidgetId'] })).toThrow(/missing: Size/);
  });

  it('refuses two resource types with the same table', () => {
    expect(() => buildCatalog([widget, { ...widget, typeName: 'AWS::Test::Other' }])).toThrow(/test\.widget/);
  });
});

describe('DDL in PostgreSQL', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
    await db.exec(catalogDdl(catalog));
  });
  afterAll(async () => {
    await db.close();
  });

  it.each(['connector_profile', 'connector_profiles'])(
    'creates appflow.%s with the columns, types and comments in order',
    async (name) => {
      const { rows } = await db.query<{ column_name: string; data_type: string; comment: string }>(
        `SELECT column_name, data_type, col_description(format('%I.%I', table_schema, table_name)::regclass,
                ordinal_position) AS comment
           FROM information_schema.columns
          WHERE table_schema = 'appflow' AND table_name = $1
          ORDER BY ordinal_position`,
        [name],
      );
      expect(rows.map((r) => r.column_name)).toEqual(columnOrder);
      const expected = table(name).columns.map((c) => ({
        column_name: c.name,
        data_type: c.type,
        comment: c.description,
      }));
      expect(rows).toEqual(expected);
      expect(rows.slice(0, seedFields.length).map((r) => [r.column_name, r.data_type, r.comment])).toEqual(
        seedFields,
      );
    },
  );

  it('comments the tables and the schema', async () => {
    const { rows } = await db.query<{ relname: string; comment: string }>(
      `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'appflow' AND c.relkind = 'r' ORDER BY c.relname COLLATE "C"`,
    );
    expect(rows).toEqual(
      catalog.tables
        .filter((t) => t.schema === 'appflow')
        .map((t) => ({ relname: t.name, comment: t.description }))
        .sort((a, b) => (a.relname < b.relname ? -1 : 1)),
    );
    const schema = await db.query<{ comment: string }>(
      `SELECT obj_description('appflow'::regnamespace, 'pg_namespace') AS comment`,
    );
    expect(schema.rows[0].comment).toContain('AWS::AppFlow::ConnectorProfile');
  });

  it('creates cloud_control.resource_requests with its columns, types and comments', async () => {
    const { rows } = await db.query<{ column_name: string; data_type: string; comment: string }>(
      `SELECT column_name, data_type, col_description('cloud_control.resource_requests'::regclass, ordinal_position) AS comment
         FROM information_schema.columns
        WHERE table_schema = 'cloud_control' AND table_name = 'resource_requests'
        ORDER BY ordinal_position`,
    );
    const requests = catalog.table('cloud_control', 'resource_requests')!;
    expect(rows).toEqual(
      requests.columns.map((c) => ({
        column_name: c.name,
        data_type: c.type === 'timestamptz' ? 'timestamp with time zone' : c.type,
        comment: c.description,
      })),
    );
    const comments = await db.query<{ t: string; s: string }>(
      `SELECT obj_description('cloud_control.resource_requests'::regclass, 'pg_class') AS t,
              obj_description('cloud_control'::regnamespace, 'pg_namespace') AS s`,
    );
    expect(comments.rows[0]).toEqual({
      t: requests.description,
      s: 'AWS Cloud Control API requests and the resource types served',
    });
  });

  it('loads a row without the write-only properties (no constraints)', async () => {
    await db.exec(`BEGIN;
      INSERT INTO appflow.connector_profiles (connector_profile_name, region, data__identifier)
      VALUES ('p', 'us-east-1', 'p');`);
    const { rows } = await db.query(`SELECT kms_arn, data__patchdocument FROM appflow.connector_profiles`);
    await db.exec('ROLLBACK');
    expect(rows).toEqual([{ kms_arn: null, data__patchdocument: null }]);
  });
});
