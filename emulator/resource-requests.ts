import type { Model } from './resource-model.js';

export type RequestOperation = 'CREATE' | 'UPDATE' | 'DELETE';
export type OperationStatus =
  'PENDING' | 'IN_PROGRESS' | 'SUCCESS' | 'FAILED' | 'CANCEL_IN_PROGRESS' | 'CANCEL_COMPLETE';

/** The model's ProgressEvent as it goes on the wire: models are JSON strings, times epoch seconds. */
export interface ProgressEvent {
  TypeName: string;
  Identifier?: string;
  RequestToken: string;
  Operation: RequestOperation;
  OperationStatus: OperationStatus;
  EventTime: number;
  ResourceModel?: string;
  StatusMessage?: string;
  ErrorCode?: string;
}

/** One Create/Update/Delete request, from acceptance to its final status. */
export interface ResourceRequest {
  /** Acceptance order, for ListResourceRequests paging. */
  seq: number;
  token: string;
  typeName: string;
  identifier?: string;
  operation: RequestOperation;
  status: OperationStatus;
  eventTime: number;
  /** Shown as ResourceModel; always a read model, since write-only values are credentials. */
  resourceModel?: Model;
  statusMessage?: string;
  errorCode?: string;
  /** Key of the resource it holds, so no other request runs on that resource meanwhile. */
  lockKey?: string;
  timer?: NodeJS.Timeout;
  /** Applies the change when the request completes; returns the failure, if the change cannot be made. */
  complete: () => { errorCode: string; statusMessage: string } | { resourceModel?: Model };
}

export const isFinished = (status: OperationStatus) =>
  status === 'SUCCESS' || status === 'FAILED' || status === 'CANCEL_COMPLETE';

/** Epoch seconds with the milliseconds as a fraction, as the service writes EventTime. */
export const epochSeconds = (ms = Date.now()) => ms / 1000;

export function progressEvent(r: ResourceRequest): ProgressEvent {
  const event: ProgressEvent = {
    TypeName: r.typeName,
    RequestToken: r.token,
    Operation: r.operation,
    OperationStatus: r.status,
    EventTime: r.eventTime,
  };
  if (r.identifier !== undefined) event.Identifier = r.identifier;
  if (r.resourceModel !== undefined) event.ResourceModel = JSON.stringify(r.resourceModel);
  if (r.statusMessage !== undefined) event.StatusMessage = r.statusMessage;
  if (r.errorCode !== undefined) event.ErrorCode = r.errorCode;
  return event;
}

/** Everything one region holds: the live service keeps regions apart. */
export class RegionStore {
  /** typeName -> identifier -> stored model (write-only properties included). */
  readonly resources = new Map<string, Map<string, Model>>();
  readonly requests = new Map<string, ResourceRequest>();
  /** ClientToken -> the request it started and what that request was, to tell a retry from a conflict. */
  readonly clientTokens = new Map<string, { fingerprint: string; requestToken: string }>();
  /** Resource key -> token of the request running on it. */
  readonly inFlight = new Map<string, string>();

  resourcesOf(typeName: string): Map<string, Model> {
    let byId = this.resources.get(typeName);
    if (byId === undefined) {
      byId = new Map();
      this.resources.set(typeName, byId);
    }
    return byId;
  }
}

export const resourceKey = (typeName: string, identifier: string) => `${typeName}\u0000${identifier}`;
