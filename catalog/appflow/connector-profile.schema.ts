/**
 * JSON Schema (draft-07) of the AWS::AppFlow::ConnectorProfile model, written from the facts of its
 * CloudFormation registry schema: types, patterns, enums, lengths and required keys.
 *
 * Every object forbids keys it does not name: Cloud Control rejects a model with
 * "extraneous key [X] is not permitted", at the top level and inside ConnectorProfileConfig alike.
 * Patterns are unanchored, as the registry writes them: the service matches them anywhere in the value.
 */
import type { JsonSchema } from '../types.js';

const ref = (definition: string): JsonSchema => ({ $ref: `#/definitions/${definition}` });

const text = (maxLength: number, pattern?: string, minLength?: number): JsonSchema => ({
  type: 'string',
  ...(pattern === undefined ? {} : { pattern }),
  ...(minLength === undefined ? {} : { minLength }),
  maxLength,
});

/** Most credential and setting strings: anything with at least one non-space character. */
const nonBlank = (maxLength: number, minLength?: number): JsonSchema => text(maxLength, '\\S+', minLength);

const oneOf = (...values: string[]): JsonSchema => ({ type: 'string', enum: values });

const object = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});

/** A free-form map of names (\w, 1..maxKeyLength) to non-blank strings, as custom connectors use. */
const stringMap = (description: string, maxKeyLength: number): JsonSchema => ({
  description,
  type: 'object',
  patternProperties: {
    [`^[\\w]{1,${maxKeyLength}}$`]: {
      description: 'A string containing the value for the property',
      ...nonBlank(2048, 1),
    },
  },
  additionalProperties: false,
});

/*
 * The registry writes `&amp;` inside these character classes (an HTML escape that slipped in). The service
 * matches the pattern as written, so `;` is accepted as a last character; kept verbatim to validate alike.
 */
const httpUrlPattern = '^(https?)://[-a-zA-Z0-9+&amp;@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&amp;@#/%=~_|]';
const httpUrl = (maxLength: number): JsonSchema => text(maxLength, httpUrlPattern);

const connectorTypes = [
  'Salesforce',
  'Pardot',
  'Singular',
  'Slack',
  'Redshift',
  'Marketo',
  'Googleanalytics',
  'Zendesk',
  'Servicenow',
  'SAPOData',
  'Datadog',
  'Trendmicro',
  'Snowflake',
  'Dynatrace',
  'Infornexus',
  'Amplitude',
  'Veeva',
  'CustomConnector',
];

/** Reusable scalar definitions, named as the registry names them so $refs read alike. */
const scalars: Record<string, JsonSchema> = {
  ConnectorType: oneOf(...connectorTypes),
  AuthenticationType: oneOf('OAUTH2', 'APIKEY', 'BASIC', 'CUSTOM'),
  OAuth2GrantType: oneOf('CLIENT_CREDENTIALS', 'AUTHORIZATION_CODE', 'JWT_BEARER'),
  CustomAuthenticationType: nonBlank(256),
  ClientId: nonBlank(512),
  ClientSecret: nonBlank(512),
  InstanceUrl: nonBlank(256),
  AccessToken: nonBlank(4096),
  ApiKey: nonBlank(256),
  ApiSecretKey: nonBlank(256),
  ApiToken: nonBlank(256),
  ApplicationKey: nonBlank(512),
  AuthCode: nonBlank(4096),
  BucketName: nonBlank(63, 3),
  BucketPrefix: text(128),
  Key: nonBlank(512),
  DatabaseUrl: nonBlank(512),
  RoleArn: text(512, 'arn:aws:iam:.*:[0-9]+:.*'),
  DataApiRoleArn: text(512, 'arn:aws:iam:.*:[0-9]+:.*'),
  ClusterIdentifier: nonBlank(512),
  WorkgroupName: nonBlank(512),
  DatabaseName: nonBlank(512),
  Warehouse: text(512, '[\\s\\w/!@#+=.-]*'),
  Stage: nonBlank(512),
  PrivateLinkServiceName: nonBlank(512),
  AccountName: nonBlank(512),
  JwtToken: text(8000, '^[A-Za-z0-9-_=]+\\.[A-Za-z0-9-_=]+\\.[A-Za-z0-9-_.+/=]*$'),
  RefreshToken: nonBlank(4096),
  Region: nonBlank(64),
  SecretKey: nonBlank(256),
  AccessKeyId: nonBlank(256),
  Username: nonBlank(512),
  Password: nonBlank(512),
  BusinessUnitId: nonBlank(18),
  ClientCredentialsArn: text(2048, 'arn:aws:secretsmanager:.*:[0-9]+:.*'),
  ApplicationHostUrl: httpUrl(256),
  ApplicationServicePath: nonBlank(512),
  ClientNumber: text(3, '^\\d{3}$', 3),
  LogonLanguage: text(2, '^[a-zA-Z0-9_]*$'),
  PortNumber: { type: 'integer', minimum: 1, maximum: 65535 },
};

/** Building blocks shared by several connectors. */
const shared: Record<string, JsonSchema> = {
  ConnectorOAuthRequest: object({ AuthCode: { type: 'string' }, RedirectUri: { type: 'string' } }),
  BasicAuthCredentials: object({ Username: ref('Username'), Password: ref('Password') }, [
    'Username',
    'Password',
  ]),
  OAuth2Credentials: object({
    ClientId: ref('ClientId'),
    ClientSecret: ref('ClientSecret'),
    AccessToken: ref('AccessToken'),
    RefreshToken: ref('RefreshToken'),
    OAuthRequest: ref('ConnectorOAuthRequest'),
  }),
  ApiKeyCredentials: object({ ApiKey: ref('ApiKey'), ApiSecretKey: ref('ApiSecretKey') }, ['ApiKey']),
  CustomAuthCredentials: object(
    { CustomAuthenticationType: ref('CustomAuthenticationType'), CredentialsMap: ref('CredentialsMap') },
    ['CustomAuthenticationType'],
  ),
  CredentialsMap: stringMap('A map for properties for custom authentication.', 128),
  ProfileProperties: stringMap('A map for properties for custom connector.', 256),
  TokenUrlCustomProperties: stringMap('A map for properties for custom connector Token Url.', 128),
  OAuth2Properties: object({
    TokenUrl: text(256, httpUrlPattern, 0),
    OAuth2GrantType: ref('OAuth2GrantType'),
    TokenUrlCustomProperties: ref('TokenUrlCustomProperties'),
  }),
  OAuthProperties: object({
    AuthCodeUrl: httpUrl(256),
    TokenUrl: httpUrl(256),
    OAuthScopes: { type: 'array', uniqueItems: true, items: text(128, '[/\\w]*') },
  }),
};

/** The OAuth client credentials Marketo, Slack and Zendesk share. */
const oauthClient = () =>
  object(
    {
      ClientId: ref('ClientId'),
      ClientSecret: ref('ClientSecret'),
      AccessToken: ref('AccessToken'),
      ConnectorOAuthRequest: ref('ConnectorOAuthRequest'),
    },
    ['ClientId', 'ClientSecret'],
  );

const userAndPassword = (required: string[]) =>
  object({ Username: ref('Username'), Password: ref('Password') }, required);

const instanceUrlOnly = () => object({ InstanceUrl: ref('InstanceUrl') }, ['InstanceUrl']);

const credentials: Record<string, JsonSchema> = {
  AmplitudeConnectorProfileCredentials: object({ ApiKey: ref('ApiKey'), SecretKey: ref('SecretKey') }, [
    'ApiKey',
    'SecretKey',
  ]),
  DatadogConnectorProfileCredentials: object(
    { ApiKey: ref('ApiKey'), ApplicationKey: ref('ApplicationKey') },
    ['ApiKey', 'ApplicationKey'],
  ),
  DynatraceConnectorProfileCredentials: object({ ApiToken: ref('ApiToken') }, ['ApiToken']),
  GoogleAnalyticsConnectorProfileCredentials: object(
    {
      ClientId: ref('ClientId'),
      ClientSecret: ref('ClientSecret'),
      AccessToken: ref('AccessToken'),
      RefreshToken: ref('RefreshToken'),
      ConnectorOAuthRequest: ref('ConnectorOAuthRequest'),
    },
    ['ClientId', 'ClientSecret'],
  ),
  InforNexusConnectorProfileCredentials: object(
    {
      AccessKeyId: ref('AccessKeyId'),
      UserId: ref('Username'),
      SecretAccessKey: ref('Key'),
      Datakey: ref('Key'),
    },
    ['AccessKeyId', 'UserId', 'SecretAccessKey', 'Datakey'],
  ),
  MarketoConnectorProfileCredentials: oauthClient(),
  RedshiftConnectorProfileCredentials: userAndPassword([]),
  SAPODataConnectorProfileCredentials: object({
    BasicAuthCredentials: ref('BasicAuthCredentials'),
    OAuthCredentials: object({
      AccessToken: ref('AccessToken'),
      RefreshToken: ref('RefreshToken'),
      ConnectorOAuthRequest: ref('ConnectorOAuthRequest'),
      ClientId: ref('ClientId'),
      ClientSecret: ref('ClientSecret'),
    }),
  }),
  SalesforceConnectorProfileCredentials: object({
    AccessToken: ref('AccessToken'),
    RefreshToken: ref('RefreshToken'),
    ConnectorOAuthRequest: ref('ConnectorOAuthRequest'),
    ClientCredentialsArn: ref('ClientCredentialsArn'),
    OAuth2GrantType: ref('OAuth2GrantType'),
    JwtToken: ref('JwtToken'),
  }),
  PardotConnectorProfileCredentials: object({
    AccessToken: ref('AccessToken'),
    RefreshToken: ref('RefreshToken'),
    ConnectorOAuthRequest: ref('ConnectorOAuthRequest'),
    ClientCredentialsArn: ref('ClientCredentialsArn'),
  }),
  ServiceNowConnectorProfileCredentials: object({
    Username: ref('Username'),
    Password: ref('Password'),
    OAuth2Credentials: ref('OAuth2Credentials'),
  }),
  SingularConnectorProfileCredentials: object({ ApiKey: ref('ApiKey') }, ['ApiKey']),
  SlackConnectorProfileCredentials: oauthClient(),
  SnowflakeConnectorProfileCredentials: userAndPassword(['Username', 'Password']),
  TrendmicroConnectorProfileCredentials: object({ ApiSecretKey: ref('ApiSecretKey') }, ['ApiSecretKey']),
  VeevaConnectorProfileCredentials: userAndPassword(['Username', 'Password']),
  ZendeskConnectorProfileCredentials: oauthClient(),
  CustomConnectorProfileCredentials: object(
    {
      AuthenticationType: ref('AuthenticationType'),
      Basic: ref('BasicAuthCredentials'),
      Oauth2: ref('OAuth2Credentials'),
      ApiKey: ref('ApiKeyCredentials'),
      Custom: ref('CustomAuthCredentials'),
    },
    ['AuthenticationType'],
  ),
};

const properties: Record<string, JsonSchema> = {
  DatadogConnectorProfileProperties: instanceUrlOnly(),
  DynatraceConnectorProfileProperties: instanceUrlOnly(),
  InforNexusConnectorProfileProperties: instanceUrlOnly(),
  MarketoConnectorProfileProperties: instanceUrlOnly(),
  RedshiftConnectorProfileProperties: object(
    {
      DatabaseUrl: ref('DatabaseUrl'),
      BucketName: ref('BucketName'),
      BucketPrefix: ref('BucketPrefix'),
      RoleArn: ref('RoleArn'),
      IsRedshiftServerless: { type: 'boolean' },
      DataApiRoleArn: ref('DataApiRoleArn'),
      ClusterIdentifier: ref('ClusterIdentifier'),
      WorkgroupName: ref('WorkgroupName'),
      DatabaseName: ref('DatabaseName'),
    },
    ['BucketName', 'RoleArn'],
  ),
  SAPODataConnectorProfileProperties: object({
    ApplicationHostUrl: ref('ApplicationHostUrl'),
    ApplicationServicePath: ref('ApplicationServicePath'),
    PortNumber: ref('PortNumber'),
    ClientNumber: ref('ClientNumber'),
    LogonLanguage: ref('LogonLanguage'),
    PrivateLinkServiceName: ref('PrivateLinkServiceName'),
    OAuthProperties: ref('OAuthProperties'),
    DisableSSO: { type: 'boolean' },
  }),
  // Salesforce's two flags start lower-case in the model, unlike Pardot's IsSandboxEnvironment.
  SalesforceConnectorProfileProperties: object({
    InstanceUrl: ref('InstanceUrl'),
    isSandboxEnvironment: { type: 'boolean' },
    usePrivateLinkForMetadataAndAuthorization: { type: 'boolean' },
  }),
  PardotConnectorProfileProperties: object(
    {
      InstanceUrl: ref('InstanceUrl'),
      IsSandboxEnvironment: { type: 'boolean' },
      BusinessUnitId: ref('BusinessUnitId'),
    },
    ['BusinessUnitId'],
  ),
  ServiceNowConnectorProfileProperties: instanceUrlOnly(),
  SlackConnectorProfileProperties: instanceUrlOnly(),
  SnowflakeConnectorProfileProperties: object(
    {
      Warehouse: ref('Warehouse'),
      Stage: ref('Stage'),
      BucketName: ref('BucketName'),
      BucketPrefix: ref('BucketPrefix'),
      PrivateLinkServiceName: ref('PrivateLinkServiceName'),
      AccountName: ref('AccountName'),
      Region: ref('Region'),
    },
    ['Warehouse', 'Stage', 'BucketName'],
  ),
  VeevaConnectorProfileProperties: instanceUrlOnly(),
  ZendeskConnectorProfileProperties: instanceUrlOnly(),
  CustomConnectorProfileProperties: object({
    ProfileProperties: ref('ProfileProperties'),
    OAuth2Properties: ref('OAuth2Properties'),
  }),
};

/** The definition of one connector's part, e.g. SalesforceConnectorProfileCredentials. */
const connectorDefinition = (connector: string, suffix: string): string =>
  // The registry does not repeat the word: CustomConnectorProfileCredentials.
  connector.endsWith('Connector') ? `${connector}Profile${suffix}` : `${connector}ConnectorProfile${suffix}`;

/** Maps each connector's key in the config to the definition of its part. */
const byConnector = (connectors: string[], suffix: string): Record<string, JsonSchema> =>
  Object.fromEntries(connectors.map((connector) => [connector, ref(connectorDefinition(connector, suffix))]));

const config: Record<string, JsonSchema> = {
  ConnectorProfileConfig: {
    description: 'Connector specific configurations needed to create connector profile',
    ...object({
      ConnectorProfileProperties: ref('ConnectorProfileProperties'),
      ConnectorProfileCredentials: ref('ConnectorProfileCredentials'),
    }),
  },
  ConnectorProfileProperties: {
    description:
      'Connector specific properties needed to create connector profile - currently not needed for Amplitude, Trendmicro, Googleanalytics and Singular',
    ...object(
      byConnector(
        [
          'Datadog',
          'Dynatrace',
          'InforNexus',
          'Marketo',
          'Redshift',
          'SAPOData',
          'Salesforce',
          'Pardot',
          'ServiceNow',
          'Slack',
          'Snowflake',
          'Veeva',
          'Zendesk',
          'CustomConnector',
        ],
        'Properties',
      ),
    ),
  },
  ConnectorProfileCredentials: {
    description:
      'Connector specific configuration needed to create connector profile based on Authentication mechanism',
    ...object(
      byConnector(
        [
          'Amplitude',
          'Datadog',
          'Dynatrace',
          'GoogleAnalytics',
          'InforNexus',
          'Marketo',
          'Redshift',
          'SAPOData',
          'Salesforce',
          'Pardot',
          'ServiceNow',
          'Singular',
          'Slack',
          'Snowflake',
          'Trendmicro',
          'Veeva',
          'Zendesk',
          'CustomConnector',
        ],
        'Credentials',
      ),
    ),
  },
};

export const connectorProfileSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'AWS::AppFlow::ConnectorProfile',
  description: 'Resource Type definition for AWS::AppFlow::ConnectorProfile',
  type: 'object',
  properties: {
    ConnectorProfileArn: {
      description: 'Unique identifier for connector profile resources',
      ...text(512, 'arn:aws:appflow:.*:[0-9]+:.*'),
    },
    ConnectorLabel: {
      description:
        'The label of the connector. The label is unique for each ConnectorRegistration in your AWS account. Only needed if calling for CUSTOMCONNECTOR connector type/.',
      ...text(256, '[\\w!@#.-]+'),
    },
    ConnectorProfileName: {
      // The registry's wording, which the user's spec repeats; it does not describe the name.
      description: 'The maximum number of items to retrieve in a single batch.',
      ...text(256, '[\\w/!@#+=.-]+'),
    },
    KMSArn: {
      description:
        "The ARN of the AWS Key Management Service (AWS KMS) key that's used to encrypt your function's environment variables. If it's not provided, AWS Lambda uses a default service key.",
      ...text(2048, 'arn:aws:kms:.*:[0-9]+:.*', 20),
    },
    ConnectorType: {
      description: 'List of Saas providers that need connector profile to be created',
      ...ref('ConnectorType'),
    },
    ConnectionMode: {
      description:
        'Mode in which data transfer should be enabled. Private connection mode is currently enabled for Salesforce, Snowflake, Trendmicro and Singular',
      ...oneOf('Public', 'Private'),
    },
    ConnectorProfileConfig: {
      description: 'Connector specific configurations needed to create connector profile',
      ...ref('ConnectorProfileConfig'),
    },
    CredentialsArn: {
      description: 'A unique Arn for Connector-Profile resource',
      ...text(512, 'arn:aws:.*:.*:[0-9]+:.*'),
    },
  },
  required: ['ConnectorProfileName', 'ConnectionMode', 'ConnectorType'],
  additionalProperties: false,
  definitions: { ...config, ...credentials, ...properties, ...shared, ...scalars },
};
