import type { ResourceDefinition } from '../types.js';
import { connectorProfileSchema } from './connector-profile.schema.js';

/** Create and update store the credentials in Secrets Manager, encrypted with the profile's KMS key. */
const writePermissions = [
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

export const connectorProfile: ResourceDefinition = {
  typeName: 'AWS::AppFlow::ConnectorProfile',
  service: 'appflow',
  description: 'Resource Type definition for AWS::AppFlow::ConnectorProfile',
  schema: connectorProfileSchema,
  propertyOrder: [
    'ConnectorProfileArn',
    'ConnectorLabel',
    'ConnectorProfileName',
    'KMSArn',
    'ConnectorType',
    'ConnectionMode',
    'ConnectorProfileConfig',
    'CredentialsArn',
  ],
  primaryIdentifier: ['ConnectorProfileName'],
  readOnlyProperties: ['ConnectorProfileArn', 'CredentialsArn'],
  writeOnlyProperties: ['ConnectorProfileConfig', 'KMSArn'],
  createOnlyProperties: ['ConnectorProfileName', 'ConnectorType', 'ConnectorLabel'],
  permissions: {
    create: ['appflow:CreateConnectorProfile', ...writePermissions],
    read: ['appflow:DescribeConnectorProfiles'],
    update: ['appflow:UpdateConnectorProfile', ...writePermissions],
    delete: ['appflow:DeleteConnectorProfile'],
    list: ['appflow:DescribeConnectorProfiles'],
  },
  tables: { resource: 'connector_profile', collection: 'connector_profiles' },
  generatedProperties: {
    ConnectorProfileArn: 'arn:aws:appflow:{region}:{account}:connectorprofile/{ConnectorProfileName}',
    CredentialsArn:
      'arn:aws:secretsmanager:{region}:{account}:secret:appflow!{account}-{ConnectorProfileName}-{random}',
  },
};
