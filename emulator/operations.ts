/** The eight operations of the Cloud Control API, as named in `X-Amz-Target: CloudApiService.<Operation>`. */
export const operationNames = [
  'GetResource',
  'ListResources',
  'CreateResource',
  'UpdateResource',
  'DeleteResource',
  'GetResourceRequestStatus',
  'ListResourceRequests',
  'CancelResourceRequest',
] as const;

export type OperationName = (typeof operationNames)[number];

export function isOperationName(name: string): name is OperationName {
  return (operationNames as readonly string[]).includes(name);
}

export const targetPrefix = 'CloudApiService.';
