import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Catalog, Handler, ResourceDefinition } from '../catalog/types.js';
import { errors } from './errors.js';
import type { Faults } from './faults.js';
import { validateInput } from './input-validation.js';
import { javaTypeOf, validateDesiredState } from './model-validation.js';
import type { OperationName } from './operations.js';
import { decodeToken, encodeToken } from './paging.js';
import { patchedModel } from './patch.js';
import {
  epochSeconds,
  isFinished,
  progressEvent,
  RegionStore,
  resourceKey,
  type OperationStatus,
  type RequestOperation,
  type ResourceRequest,
} from './resource-requests.js';
import { primaryIdentifierOf } from '../catalog/identifier.js';
import { accountId, readModel, withGeneratedProperties, type Model } from './resource-model.js';

type Input = Record<string, unknown>;

/** The live service pages ListResources at about 25 whatever MaxResults says. */
export const listResourcesPageSize = 25;
const defaultRequestsPageSize = 20;
const principalArn = `arn:aws:iam::${accountId}:user/emulator`;

const handlerOf: Partial<Record<OperationName, Handler>> = {
  GetResource: 'read',
  ListResources: 'list',
  CreateResource: 'create',
  UpdateResource: 'update',
  DeleteResource: 'delete',
};

/**
 * Cloud Control's behaviour over in-memory regional stores, driven only by catalog definitions.
 * Create/Update/Delete are accepted at once and applied when their request completes.
 */
export class EmulatedCloudControl {
  private readonly regions = new Map<string, RegionStore>();
  private seq = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly faults: () => Faults,
    private readonly log: Logger,
    /** Whether a type's ListResources returns the whole read model; else only the primary identifier, as many live handlers do. */
    private readonly listsFullModel: (typeName: string) => boolean = () => false,
  ) {}

  /** One request in `account` (the signer's; sample data and tests without one use the default account). */
  handle(operation: OperationName, input: Input, region: string, account = accountId): unknown {
    validateInput(operation, input);
    const store = this.region(account === accountId ? region : `${account}/${region}`);
    switch (operation) {
      case 'GetResource':
        return this.getResource(input, store);
      case 'ListResources':
        return this.listResources(input, store);
      case 'CreateResource':
        return this.createResource(input, store, region, account);
      case 'UpdateResource':
        return this.updateResource(input, store);
      case 'DeleteResource':
        return this.deleteResource(input, store);
      case 'GetResourceRequestStatus':
        this.checkAccess(operation);
        return { ProgressEvent: progressEvent(this.request(input, store)) };
      case 'ListResourceRequests':
        this.checkAccess(operation);
        return this.listResourceRequests(input, store);
      case 'CancelResourceRequest':
        this.checkAccess(operation);
        return this.cancelResourceRequest(input, store);
    }
  }

  /**
   * Every region's resources as stored (write-only values included), for the admin dump: the default account's
   * regions by name, another account's as `<account>/<region>`.
   */
  dump(): Record<string, Record<string, Record<string, Model>>> {
    const out: Record<string, Record<string, Record<string, Model>>> = {};
    for (const [region, store] of this.regions) {
      out[region] = {};
      for (const [typeName, byId] of store.resources) out[region][typeName] = Object.fromEntries(byId);
    }
    return out;
  }

  /** Completes every request still in progress now, as if its delay had passed (used to seed data). */
  completePending(): void {
    for (const store of this.regions.values()) {
      for (const request of store.requests.values()) {
        if (request.status !== 'IN_PROGRESS') continue;
        clearTimeout(request.timer);
        this.finish(store, request);
      }
    }
  }

  /** Forgets everything and stops pending completions. */
  reset(): void {
    for (const store of this.regions.values()) {
      for (const request of store.requests.values()) clearTimeout(request.timer);
    }
    this.regions.clear();
  }

  private region(name: string): RegionStore {
    let store = this.regions.get(name);
    if (store === undefined) {
      store = new RegionStore();
      this.regions.set(name, store);
    }
    return store;
  }

  private definition(operation: OperationName, input: Input): ResourceDefinition {
    const typeName = input.TypeName as string;
    const type = this.catalog.resourceType(typeName);
    if (type === undefined) throw errors.typeNotFound(typeName);
    const handler = handlerOf[operation];
    if (handler !== undefined && type.definition.permissions[handler] === undefined)
      throw errors.unsupportedAction(typeName, handler.toUpperCase());
    this.checkAccess(operation, type.definition);
    return type.definition;
  }

  private checkAccess(operation: OperationName, definition?: ResourceDefinition): void {
    if (!this.faults().denyOperations.includes(operation)) return;
    const handler = handlerOf[operation];
    const permission = (handler && definition?.permissions[handler]?.[0]) ?? `cloudformation:${operation}`;
    throw errors.accessDenied(principalArn, permission);
  }

  private getResource(input: Input, store: RegionStore) {
    const definition = this.definition('GetResource', input);
    const identifier = input.Identifier as string;
    const model = store.resourcesOf(definition.typeName).get(identifier);
    if (model === undefined) throw errors.resourceNotFound(definition.typeName, identifier, randomUUID());
    return {
      TypeName: definition.typeName,
      ResourceDescription: {
        Identifier: identifier,
        Properties: JSON.stringify(readModel(definition, model)),
      },
    };
  }

  private listResources(input: Input, store: RegionStore) {
    const definition = this.definition('ListResources', input);
    const given = listResourceModel(definition, input.ResourceModel as string | undefined);
    const all = [...store.resourcesOf(definition.typeName).entries()]
      .filter(([, model]) => Object.entries(given).every(([k, v]) => sameJson(model[k], v)))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const full = this.listsFullModel(definition.typeName);
    let start = 0;
    if (input.NextToken !== undefined) {
      const cursor = decodeToken(input.NextToken as string, ['type', 'after']);
      if (cursor === undefined || cursor.type !== definition.typeName) {
        throw errors.invalidRequest('Invalid NextToken provided');
      }
      const after = String(cursor.after);
      start = all.findIndex(([id]) => id > after);
      if (start === -1) start = all.length;
    }
    const page = all.slice(start, start + listResourcesPageSize);
    const more = start + page.length < all.length;
    return {
      TypeName: definition.typeName,
      ResourceDescriptions: page.map(([id, model]) => ({
        Identifier: id,
        Properties: JSON.stringify(full ? readModel(definition, model) : identifierModel(definition, model)),
      })),
      ...(more
        ? { NextToken: encodeToken({ type: definition.typeName, after: page[page.length - 1]![0] }) }
        : {}),
    };
  }

  private createResource(input: Input, store: RegionStore, region: string, account: string) {
    const definition = this.definition('CreateResource', input);
    const desired = parseDesiredState(input.DesiredState as string);
    return this.idempotent('CreateResource', input, store, () => {
      validateDesiredState(definition, desired);
      const model = withGeneratedProperties(definition, desired, region, account);
      const identifier = primaryIdentifierOf(definition, model);
      const typeName = definition.typeName;
      return this.accept(store, definition, 'CREATE', identifier, undefined, () => {
        const failure = this.injectedFailure(identifier);
        if (failure) return failure;
        const byId = store.resourcesOf(typeName);
        if (identifier !== undefined && byId.has(identifier)) {
          return {
            errorCode: 'AlreadyExists',
            statusMessage: `Resource of type '${typeName}' with identifier '${identifier}' already exists.`,
          };
        }
        byId.set(identifier ?? randomUUID(), model);
        return { resourceModel: readModel(definition, model) };
      });
    });
  }

  private updateResource(input: Input, store: RegionStore) {
    const definition = this.definition('UpdateResource', input);
    const identifier = input.Identifier as string;
    return this.idempotent('UpdateResource', input, store, () => {
      const byId = store.resourcesOf(definition.typeName);
      const current = byId.get(identifier);
      if (current === undefined) throw errors.resourceNotFound(definition.typeName, identifier, randomUUID());
      this.checkNotBusy(store, definition.typeName, identifier);
      const patched = patchedModel(definition, current, input.PatchDocument as string);
      return this.accept(store, definition, 'UPDATE', identifier, readModel(definition, patched), () => {
        const failure = this.injectedFailure(identifier);
        if (failure) return failure;
        if (!byId.has(identifier)) return notFound(definition.typeName, identifier);
        byId.set(identifier, patched);
        return { resourceModel: readModel(definition, patched) };
      });
    });
  }

  private deleteResource(input: Input, store: RegionStore) {
    const definition = this.definition('DeleteResource', input);
    const identifier = input.Identifier as string;
    return this.idempotent('DeleteResource', input, store, () => {
      const byId = store.resourcesOf(definition.typeName);
      if (!byId.has(identifier)) throw errors.resourceNotFound(definition.typeName, identifier, randomUUID());
      this.checkNotBusy(store, definition.typeName, identifier);
      return this.accept(store, definition, 'DELETE', identifier, undefined, () => {
        const failure = this.injectedFailure(identifier);
        if (failure) return failure;
        if (!byId.delete(identifier)) return notFound(definition.typeName, identifier);
        return {};
      });
    });
  }

  /**
   * A ClientToken seen before with the same request answers that request's progress again (a retry);
   * with a different request it is a conflict.
   */
  private idempotent(
    operation: OperationName,
    input: Input,
    store: RegionStore,
    start: () => ResourceRequest,
  ) {
    const clientToken = input.ClientToken as string | undefined;
    const rest = Object.fromEntries(Object.entries(input).filter(([k]) => k !== 'ClientToken'));
    const fingerprint = JSON.stringify([operation, canonical(rest)]);
    if (clientToken !== undefined) {
      const seen = store.clientTokens.get(clientToken);
      if (seen !== undefined) {
        if (seen.fingerprint !== fingerprint) throw errors.clientTokenConflict(clientToken);
        return { ProgressEvent: progressEvent(store.requests.get(seen.requestToken)!) };
      }
    }
    const request = start();
    if (clientToken !== undefined)
      store.clientTokens.set(clientToken, { fingerprint, requestToken: request.token });
    return { ProgressEvent: progressEvent(request) };
  }

  private checkNotBusy(store: RegionStore, typeName: string, identifier: string): void {
    const other = store.inFlight.get(resourceKey(typeName, identifier));
    if (other !== undefined) throw errors.concurrentOperation(typeName, identifier, other);
  }

  private accept(
    store: RegionStore,
    definition: ResourceDefinition,
    operation: RequestOperation,
    identifier: string | undefined,
    resourceModel: Model | undefined,
    complete: ResourceRequest['complete'],
  ): ResourceRequest {
    if (identifier !== undefined) this.checkNotBusy(store, definition.typeName, identifier);
    const request: ResourceRequest = {
      seq: ++this.seq,
      token: randomUUID(),
      typeName: definition.typeName,
      identifier,
      operation,
      status: 'IN_PROGRESS',
      eventTime: epochSeconds(),
      resourceModel,
      complete,
    };
    if (identifier !== undefined) {
      request.lockKey = resourceKey(definition.typeName, identifier);
      store.inFlight.set(request.lockKey, request.token);
    }
    store.requests.set(request.token, request);
    request.timer = setTimeout(() => this.finish(store, request), this.faults().completionDelayMs);
    this.log.debug(
      { requestToken: request.token, operation, typeName: definition.typeName },
      'request accepted',
    );
    return request;
  }

  private finish(store: RegionStore, request: ResourceRequest): void {
    if (request.status !== 'IN_PROGRESS') return;
    const outcome = request.complete();
    if ('errorCode' in outcome) {
      this.settle(store, request, 'FAILED');
      request.errorCode = outcome.errorCode;
      request.statusMessage = outcome.statusMessage;
    } else {
      this.settle(store, request, 'SUCCESS');
      request.resourceModel = outcome.resourceModel;
    }
    this.log.debug({ requestToken: request.token, status: request.status }, 'request finished');
  }

  private settle(store: RegionStore, request: ResourceRequest, status: OperationStatus): void {
    request.status = status;
    request.eventTime = epochSeconds();
    request.timer = undefined;
    if (isFinished(status) && request.lockKey !== undefined) store.inFlight.delete(request.lockKey);
  }

  private injectedFailure(identifier: string | undefined) {
    const failure = identifier === undefined ? undefined : this.faults().failIdentifiers[identifier];
    if (failure === undefined) return undefined;
    return {
      errorCode: failure.errorCode,
      statusMessage: failure.statusMessage ?? `Injected ${failure.errorCode} failure`,
    };
  }

  private request(input: Input, store: RegionStore): ResourceRequest {
    const token = input.RequestToken as string;
    const request = store.requests.get(token);
    if (request === undefined) throw errors.requestTokenNotFound(token);
    return request;
  }

  private listResourceRequests(input: Input, store: RegionStore) {
    const filter = (input.ResourceRequestStatusFilter ?? {}) as {
      Operations?: string[];
      OperationStatuses?: string[];
    };
    const pageSize = (input.MaxResults as number | undefined) ?? defaultRequestsPageSize;
    let before = Infinity;
    if (input.NextToken !== undefined) {
      const cursor = decodeToken(input.NextToken as string, ['before']);
      if (cursor === undefined || typeof cursor.before !== 'number')
        throw errors.validation('Invalid NextToken provided');
      before = cursor.before;
    }
    const matching = [...store.requests.values()]
      .filter((r) => r.seq < before)
      .filter((r) => !filter.Operations?.length || filter.Operations.includes(r.operation))
      .filter((r) => !filter.OperationStatuses?.length || filter.OperationStatuses.includes(r.status))
      .sort((a, b) => b.seq - a.seq);
    const page = matching.slice(0, pageSize);
    const more = matching.length > page.length;
    return {
      ResourceRequestStatusSummaries: page.map(progressEvent),
      ...(more ? { NextToken: encodeToken({ before: page[page.length - 1]!.seq }) } : {}),
    };
  }

  private cancelResourceRequest(input: Input, store: RegionStore) {
    const request = this.request(input, store);
    if (request.status !== 'PENDING' && request.status !== 'IN_PROGRESS') {
      throw errors.requestNotCancellable(request.token, request.status);
    }
    clearTimeout(request.timer);
    this.settle(store, request, 'CANCEL_IN_PROGRESS');
    const answer = { ProgressEvent: progressEvent(request) };
    // Cancelling takes the service a moment too; the change is never applied.
    request.timer = setTimeout(
      () => this.settle(store, request, 'CANCEL_COMPLETE'),
      Math.min(this.faults().completionDelayMs, 100),
    );
    return answer;
  }
}

function notFound(typeName: string, identifier: string) {
  return {
    errorCode: 'NotFound',
    statusMessage: `Resource of type '${typeName}' with identifier '${identifier}' was not found.`,
  };
}

function parseDesiredState(text: string): Model {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors.validation('Model validation failed (#: DesiredState is not valid JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw errors.validation(
      `Model validation failed (#: expected type: JSONObject, found: ${javaTypeOf(parsed)})`,
    );
  }
  return parsed as Model;
}

/**
 * ListResources' ResourceModel: the properties a list handler is given (a parent such as an EKS nodegroup's
 * ClusterName). A type that needs one (catalog `listRequires`) answers the live service's InvalidRequestException
 * without it; the resources listed are those whose model has each given value.
 */
function listResourceModel(definition: ResourceDefinition, text: string | undefined): Model {
  let given: Model = {};
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw errors.invalidRequest('ResourceModel is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw errors.invalidRequest('ResourceModel must be a JSON object');
    given = parsed as Model;
  }
  for (const name of definition.listRequires ?? []) {
    if (given[name] === undefined || given[name] === null) {
      throw errors.invalidRequest(
        `Missing or invalid ResourceModel property in ${definition.typeName} list handler request input.` +
          `Required property: (#: required key [${name}] not found)`,
      );
    }
  }
  return given;
}

/** What many live list handlers return for each resource: its primary identifier's properties alone. */
function identifierModel(definition: ResourceDefinition, model: Model): Model {
  const out: Model = {};
  for (const name of definition.primaryIdentifier) if (model[name] !== undefined) out[name] = model[name];
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** JSON with object keys sorted, so two equal requests compare equal however their keys were ordered. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
