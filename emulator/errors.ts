/**
 * Errors as the live Cloud Control service serializes them: `{"__type": "<namespace>#<Name>", "Message": ...}`.
 * The namespaces differ by which layer of the service raises the error, and the SDK keeps only the part after `#`.
 */

const cloudApiService = 'com.amazon.cloudapiservice';
const coralService = 'com.amazon.coral.service';
const coralValidate = 'com.amazon.coral.validate';
const coralAvailability = 'com.amazon.coral.availability';

export class ApiError extends Error {
  constructor(
    readonly namespace: string,
    readonly code: string,
    readonly status: number,
    message: string,
    /** Coral's own authentication errors spell the member `message`; the service's errors use `Message`. */
    readonly lowerCaseMessage = false,
  ) {
    super(message);
  }

  body(): Record<string, string> {
    const body: Record<string, string> = { __type: `${this.namespace}#${this.code}` };
    if (this.message !== '') body[this.lowerCaseMessage ? 'message' : 'Message'] = this.message;
    return body;
  }
}

// The model says 404 for the three "not found" errors; the live service answers 400.
const modeled =
  (code: string, status = 400) =>
  (message: string) =>
    new ApiError(cloudApiService, code, status, message);

export const errors = {
  resourceNotFound: (typeName: string, identifier: string, requestToken: string) =>
    modeled('ResourceNotFoundException')(
      `${typeName} Handler returned status FAILED: Resource of type '${typeName}' with identifier '${identifier}'` +
        ` was not found. (HandlerErrorCode: NotFound, RequestToken: ${requestToken})`,
    ),
  typeNotFound: (typeName: string) =>
    modeled('TypeNotFoundException')(`The type '${typeName}' cannot be found.`),
  requestTokenNotFound: (token: string) =>
    modeled('RequestTokenNotFoundException')(`Resource request with token ${token} was not found.`),
  requestNotCancellable: (token: string, status: string) =>
    modeled('RequestTokenNotFoundException')(
      `Resource request with token ${token} is ${status}; only PENDING or IN_PROGRESS requests can be cancelled.`,
    ),
  notUpdatable: (paths: string[]) =>
    modeled('NotUpdatableException')(
      `Invalid patch update: createOnlyProperties [${paths.join(', ')}] cannot be updated`,
    ),
  clientTokenConflict: (clientToken: string) =>
    modeled(
      'ClientTokenConflictException',
      409,
    )(`ClientToken ${clientToken} was already used for a different request.`),
  concurrentOperation: (typeName: string, identifier: string, otherToken: string) =>
    modeled(
      'ConcurrentOperationException',
      409,
    )(
      `Another resource operation request (RequestToken: ${otherToken}) is in progress on the resource of type` +
        ` '${typeName}' with identifier '${identifier}'.`,
    ),
  /** The type has no handler for the operation (no list handler, no update handler...). */
  unsupportedAction: (typeName: string, action: string) =>
    modeled('UnsupportedActionException')(`Resource type ${typeName} does not support ${action} action`),
  invalidRequest: (message: string) => modeled('InvalidRequestException')(message),
  serviceInternalError: () =>
    modeled('ServiceInternalErrorException', 502)('An internal error occurred. Please retry your request.'),
  validation: (message: string) => new ApiError(coralValidate, 'ValidationException', 400, message),
  throttling: () => new ApiError(coralAvailability, 'ThrottlingException', 429, 'Rate exceeded'),
  accessDenied: (principalArn: string, permission: string) =>
    new ApiError(
      coralService,
      'AccessDeniedException',
      400,
      `User: ${principalArn} is not authorized to perform: ${permission} because no identity-based policy allows` +
        ` the ${permission} action`,
    ),
  missingAuthenticationToken: () =>
    new ApiError(
      coralService,
      'MissingAuthenticationTokenException',
      400,
      'Request is missing Authentication Token',
      true,
    ),
  incompleteSignature: (header: string) =>
    new ApiError(
      coralService,
      'IncompleteSignatureException',
      400,
      `Authorization header requires 'Credential' parameter. Authorization=${header}`,
      true,
    ),
  unknownOperation: () => new ApiError(coralService, 'UnknownOperationException', 400, '', true),
  serialization: (message: string) =>
    new ApiError(coralService, 'SerializationException', 400, message, true),
};
