import { ApiError } from './errors.js';

/**
 * The commercial regions and how an account has them: enabled by default, or opt-in (disabled until the account
 * enables it), as AWS Account ListRegions answers for a new account.
 */
const optIn = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
]);
const byDefault = [
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];
const regions = [
  ...byDefault.map((name) => ({ RegionName: name, RegionOptStatus: 'ENABLED_BY_DEFAULT' })),
  ...[...optIn].map((name) => ({ RegionName: name, RegionOptStatus: 'DISABLED' })),
].sort((a, b) => a.RegionName.localeCompare(b.RegionName));

const statuses = ['ENABLED', 'ENABLING', 'DISABLING', 'DISABLED', 'ENABLED_BY_DEFAULT'];

function validation(message: string): ApiError {
  return new ApiError('com.amazonaws.account', 'ValidationException', 400, message);
}

/** Account ListRegions (REST-JSON `POST /listRegions`): a page of regions with the statuses asked for. */
export function listRegions(input: Record<string, unknown>): unknown {
  const wanted = input.RegionOptStatusContains;
  if (wanted !== undefined && (!Array.isArray(wanted) || !wanted.every((s) => statuses.includes(String(s)))))
    throw validation(`RegionOptStatusContains must hold only ${statuses.join(', ')}`);
  const max = input.MaxResults === undefined ? 20 : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > 50) throw validation('MaxResults must be between 1 and 50');
  const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0) throw validation('NextToken is not valid');
  const matching = regions.filter((r) => wanted === undefined || wanted.includes(r.RegionOptStatus));
  const page = matching.slice(start, start + max);
  const next = start + max < matching.length ? String(start + max) : undefined;
  return { Regions: page, ...(next !== undefined ? { NextToken: next } : {}) };
}
