import { errors } from './errors.js';

/** Who signed a request and for what, from its SigV4 credential scope. */
export interface Signer {
  accessKeyId: string;
  region: string;
  /** The scope's service: `cloudcontrolapi`, `cloudformation`, `sts`. */
  service: string;
}

/**
 * The signer of a request, from its SigV4 credential scope
 * (`Credential=AKID/20261129/us-east-1/cloudcontrolapi/aws4_request`). Signatures are not verified:
 * the emulator only needs to refuse what the live service refuses before it looks at a signature.
 */
export function signerOf(authorization: string | undefined): Signer {
  if (authorization === undefined || !authorization.trim().startsWith('AWS4-')) {
    throw errors.missingAuthenticationToken();
  }
  const scope = /Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/.exec(authorization);
  if (scope === null) throw errors.incompleteSignature(authorization);
  return { accessKeyId: scope[1]!, region: scope[3]!, service: scope[4]! };
}

/** The region a request is for, from its SigV4 credential scope. */
export function regionOfRequest(authorization: string | undefined): string {
  return signerOf(authorization).region;
}
