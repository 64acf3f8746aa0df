import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { PgError, SqlState } from '../errors.js';

/**
 * Server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL's auth-scram.c runs it: the user name in
 * the SCRAM exchange is ignored in favour of the StartupMessage's, and channel binding (SCRAM-SHA-256-PLUS) is
 * not offered, so a client asking for it with 'p=' is refused.
 */

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
/** PostgreSQL's default scram_iterations. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;
const SCRAM_SALT_LENGTH = 16;
/** PostgreSQL sends 18 raw bytes, base64-encoded. */
const SCRAM_NONCE_LENGTH = 18;

const pbkdf2Async = promisify(pbkdf2);

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/**
 * The minimal SASLprep (RFC 4013) that PostgreSQL's and node-postgres' clients apply to the password: map
 * non-ASCII spaces to ' ', drop "mapped to nothing" characters, NFKC. Without it a non-ASCII password that
 * libpq normalises would never match.
 */
export function saslprep(password: string): string {
  return (
    password
      .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
      // eslint-disable-next-line no-misleading-character-class
      .replace(/[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
      .normalize('NFKC')
  );
}

/** Stored key and server key for a password; PBKDF2 runs on the thread pool so startup never blocks the loop. */
export async function scramVerifier(
  password: string,
  iterations = SCRAM_DEFAULT_ITERATIONS,
  salt: Buffer = randomBytes(SCRAM_SALT_LENGTH),
): Promise<ScramVerifier> {
  const saltedPassword = await pbkdf2Async(saslprep(password), salt, iterations, 32, 'sha256');
  const clientKey = hmac(saltedPassword, 'Client Key');
  return { iterations, salt, storedKey: sha256(clientKey), serverKey: hmac(saltedPassword, 'Server Key') };
}

function malformed(detail: string): PgError {
  return new PgError(SqlState.protocol_violation, 'malformed SCRAM message', { detail, severity: 'FATAL' });
}

/** "printable" in RFC 5802: %x21-2B / %x2D-7E, i.e. visible ASCII except ','. */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Splits "k=v,k=v" attributes, checking each is a single letter followed by '='. */
function attributes(message: string): [string, string][] {
  return message.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw malformed(`Expected attribute in "${message}".`);
    return [part[0]!, part.slice(2)];
  });
}

/**
 * One SCRAM exchange. Call clientFirst() with the SASLInitialResponse data and send the result in
 * AuthenticationSASLContinue, then clientFinal() with the SASLResponse data: it returns the server-final message
 * for AuthenticationSASLFinal when the proof matches, or null when the password is wrong.
 */
export class ScramSession {
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';

  constructor(private readonly verifier: ScramVerifier) {}

  clientFirst(data: Buffer): string {
    const message = data.toString('utf8');
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const first = message.indexOf(',');
    const second = first < 0 ? -1 : message.indexOf(',', first + 1);
    if (second < 0) throw malformed('Unexpected end of input.');
    const cbindFlag = message.slice(0, first);
    const authzid = message.slice(first + 1, second);
    if (cbindFlag.startsWith('p=')) {
      throw new PgError(SqlState.protocol_violation, 'channel binding is not supported by this server', {
        severity: 'FATAL',
      });
    }
    // 'y' means the client could bind but believes we cannot: true, since we never offer -PLUS.
    if (cbindFlag !== 'n' && cbindFlag !== 'y')
      throw malformed(`Unexpected channel-binding flag "${cbindFlag}".`);
    if (authzid !== '') {
      throw new PgError(
        SqlState.feature_not_supported,
        'client uses authorization identity, but it is not supported',
        {
          severity: 'FATAL',
        },
      );
    }
    this.gs2Header = message.slice(0, second + 1);
    this.clientFirstBare = message.slice(second + 1);

    const attrs = attributes(this.clientFirstBare);
    if (attrs[0]?.[0] === 'm') {
      throw new PgError(SqlState.feature_not_supported, 'client requires an unsupported SCRAM extension', {
        severity: 'FATAL',
      });
    }
    if (attrs[0]?.[0] !== 'n') throw malformed('Expected attribute "n".');
    if (attrs[1]?.[0] !== 'r') throw malformed('Expected attribute "r".');
    const clientNonce = attrs[1][1];
    if (!PRINTABLE.test(clientNonce)) throw malformed('Invalid client nonce.');

    this.nonce = clientNonce + randomBytes(SCRAM_NONCE_LENGTH).toString('base64');
    const v = this.verifier;
    this.serverFirst = `r=${this.nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
    return this.serverFirst;
  }

  clientFinal(data: Buffer): string | null {
    if (!this.serverFirst) throw malformed('client-final-message before client-first-message.');
    const message = data.toString('utf8');
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw malformed('Could not find proof in client-final-message.');
    const withoutProof = message.slice(0, proofAt);
    const proofText = message.slice(proofAt + 3);
    const attrs = attributes(withoutProof);
    if (attrs[0]?.[0] !== 'c') throw malformed('Expected attribute "c".');
    if (attrs[1]?.[0] !== 'r') throw malformed('Expected attribute "r".');
    // Without channel binding, c= must echo the gs2 header exactly: this is what detects a downgraded 'y'.
    if (attrs[0][1] !== Buffer.from(this.gs2Header).toString('base64')) {
      throw new PgError(SqlState.protocol_violation, 'SCRAM channel binding check failed', {
        severity: 'FATAL',
      });
    }
    if (attrs[1][1] !== this.nonce) throw malformed('Nonce does not match.');
    if (!BASE64.test(proofText)) throw malformed('Malformed proof in client-final-message.');
    const proof = Buffer.from(proofText, 'base64');
    if (proof.length !== 32) throw malformed('Malformed proof in client-final-message.');

    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    if (!timingSafeEqual(sha256(clientKey), this.verifier.storedKey)) return null;
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}

/** PostgreSQL's md5 response: 'md5' + md5(md5(password + user) + salt), with the inner hash as hex text. */
export function md5Response(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password).update(user).digest('hex');
  return 'md5' + createHash('md5').update(inner).update(salt).digest('hex');
}

/** Equal-length digests make the comparison constant-time even when the lengths of the inputs differ. */
export function constantTimeEquals(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
