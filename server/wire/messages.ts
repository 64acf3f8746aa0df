import type { PgError } from '../errors.js';

/**
 * Protocol v3 messages as plain typed values, named as in PostgreSQL's protocol documentation.
 * Frontend messages are what a client sends after startup; backend messages are built by backend-serializer.ts.
 */

export type FrontendMessage =
  | { type: 'Query'; sql: string }
  | { type: 'Parse'; statement: string; sql: string; paramTypes: number[] }
  | {
      type: 'Bind';
      portal: string;
      statement: string;
      paramFormats: number[];
      params: (Buffer | null)[];
      resultFormats: number[];
    }
  | { type: 'Describe'; target: 'S' | 'P'; name: string }
  | { type: 'Execute'; portal: string; maxRows: number }
  | { type: 'Close'; target: 'S' | 'P'; name: string }
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; message: string }
  // Refused by the session, but decoded so it can answer with an ErrorResponse instead of dropping the client.
  | { type: 'FunctionCall' }
  | { type: 'Unknown'; code: string }
  /**
   * A message whose text did not convert from the client encoding (22021 / 22P05). The session answers it as an
   * ERROR, as PostgreSQL does for the message of that type (`code`), and goes on.
   */
  | { type: 'Undecodable'; code: string; error: PgError };

export type FrontendMessageType = FrontendMessage['type'];

/** The message of a given type, e.g. `FrontendMessageOf<'Bind'>`. */
export type FrontendMessageOf<T extends FrontendMessageType> = Extract<FrontendMessage, { type: T }>;

export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

/** The fields of an ErrorResponse or NoticeResponse (protocol "Error and Notice Message Fields"). */
export interface ErrorFields {
  severity: Severity;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 1-based character (not byte) offset into the query string. */
  position?: number;
  internalPosition?: number;
  internalQuery?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
}

/** One column of a RowDescription. */
export interface FieldDescription {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  /** 0 text, 1 binary. */
  format: number;
}

export type TransactionStatus = 'I' | 'T' | 'E';

/** Frontend message type bytes (protocol "Message Formats"). */
export const FrontendCode = {
  Bind: 'B',
  Close: 'C',
  CopyData: 'd',
  CopyDone: 'c',
  CopyFail: 'f',
  Describe: 'D',
  Execute: 'E',
  Flush: 'H',
  FunctionCall: 'F',
  Parse: 'P',
  /** PasswordMessage, SASLInitialResponse and SASLResponse share it; only the auth exchange tells them apart. */
  Password: 'p',
  Query: 'Q',
  Sync: 'S',
  Terminate: 'X',
} as const;

/** Backend message type bytes. */
export const BackendCode = {
  Authentication: 'R',
  BackendKeyData: 'K',
  BindComplete: '2',
  CloseComplete: '3',
  CommandComplete: 'C',
  CopyData: 'd',
  CopyDone: 'c',
  CopyInResponse: 'G',
  CopyOutResponse: 'H',
  CopyBothResponse: 'W',
  DataRow: 'D',
  EmptyQueryResponse: 'I',
  ErrorResponse: 'E',
  FunctionCallResponse: 'V',
  NegotiateProtocolVersion: 'v',
  NoData: 'n',
  NoticeResponse: 'N',
  NotificationResponse: 'A',
  ParameterDescription: 't',
  ParameterStatus: 'S',
  ParseComplete: '1',
  PortalSuspended: 's',
  ReadyForQuery: 'Z',
  RowDescription: 'T',
} as const;

/** Request codes of the untyped startup-phase packets (pqcomm.h). */
export const PROTOCOL_VERSION_3 = 3 << 16;
export const CANCEL_REQUEST_CODE = (1234 << 16) | 5678;
export const NEGOTIATE_SSL_CODE = (1234 << 16) | 5679;
export const NEGOTIATE_GSS_CODE = (1234 << 16) | 5680;

/** AuthenticationXXX subtypes (the int32 after 'R'). */
export const AuthRequest = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** ErrorResponse field type bytes, keyed by our ErrorFields names. */
export const ErrorFieldCode = {
  /** Localized severity; 'V' carries the never-localized one. */
  severity: 'S',
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
} as const satisfies Record<keyof ErrorFields, string>;
