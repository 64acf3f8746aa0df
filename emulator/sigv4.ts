import { errors } from './errors.js';

/**
 * The region a request is for, from its SigV4 credential scope
 * (`Credential=AKID/20261129/us-east-1/cloudcontrolapi/aws4_request`). Signatures are not verified:
 * the emulator only needs to refuse what the live service refuses before it looks at a signature.
 */
export function regionOfRequest(authorization: string | undefined): string {
  if (authorization === undefined || !authorization.trim().startsWith('AWS4-')) {
    throw errors.missingAuthenticationToken();
  }
  const scope = /Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/.exec(authorization);
  if (scope === null) throw errors.incompleteSignature(authorization);
  return scope[3]!;
}
