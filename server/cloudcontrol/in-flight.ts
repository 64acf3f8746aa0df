import type { WriteRequest } from './writes.js';

/** A write request this process has sent (or is sending) and not yet seen end. */
export interface InFlightWrite {
  request: WriteRequest;
  typeName: string;
  clientToken: string;
  /** Cloud Control's RequestToken once CreateResource/UpdateResource/DeleteResource answered. */
  requestToken?: string;
}

/** Every write in flight in this process, so a shutdown can say which requests it left running. */
export const inFlightWrites = new Set<InFlightWrite>();
