// Verifies bearer JWTs against the configured issuers: an external issuer's
// JWKS (fetched, cached, and fetched again when a token names a key it has
// not seen: key rotation), and the local key (local-key.ts). Audience, expiry
// and not-before are checked with a small clock-skew tolerance.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from './auth-config';
import type { Caller } from './caller';
import { LOCAL_ALGORITHM, LOCAL_ISSUER, type LocalKey } from './local-key';
import { ROLES, type Role } from './roles';
import { parseScopes } from './scopes';

/** Why a token was refused: the error_description of WWW-Authenticate. */
export class InvalidTokenError extends Error {}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** A verified token is trusted again without verifying its signature for at most this long (and never past its exp). */
const CACHE_MS = 60_000;
const CACHE_SIZE = 1000;

export class TokenVerifier {
  private readonly remote?: { issuer: string; keys: JWTVerifyGetKey };
  /** Verified tokens: a client sends the same token with every request, and a signature check costs about 0.1 ms. */
  private readonly verified = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly config: AuthConfig,
    private readonly localKey?: LocalKey
  ) {
    if (config.jwks) {
      // Keys are kept 10 minutes; an unknown kid refetches at most once a second.
      this.remote = {
        issuer: config.jwks.issuer,
        keys: createRemoteJWKSet(new URL(config.jwks.url), { cacheMaxAge: 600_000, cooldownDuration: 1000, timeoutDuration: 5000 }),
      };
    }
  }

  async verify(token: string): Promise<Caller> {
    const cached = this.verified.get(token);
    if (cached && cached.until > Date.now()) return cached.caller;
    this.verified.delete(token);
    const { caller, exp } = await this.verifyOnce(token);
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { caller, until: Math.min(Date.now() + CACHE_MS, exp * 1000) });
    return caller;
  }

  private async verifyOnce(token: string): Promise<{ caller: Caller; exp: number }> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new InvalidTokenError('The bearer token is not a JWT');
    }
    const options = { audience: this.config.audience, clockTolerance: this.config.clockSkewSeconds, requiredClaims: ['exp', 'sub'] };
    let payload: JWTPayload;
    try {
      if (issuer === LOCAL_ISSUER && this.localKey) {
        ({ payload } = await jwtVerify(token, this.localKey.publicKey, { ...options, issuer: LOCAL_ISSUER, algorithms: [LOCAL_ALGORITHM] }));
      } else if (this.remote && issuer === this.remote.issuer) {
        ({ payload } = await jwtVerify(token, this.remote.keys, { ...options, issuer: this.remote.issuer, algorithms: ALGORITHMS }));
      } else {
        throw new InvalidTokenError(`Tokens from issuer ${JSON.stringify(issuer ?? '(none)')} are not accepted here`);
      }
    } catch (err) {
      throw new InvalidTokenError(describe(err));
    }
    return { caller: callerOf(payload), exp: payload.exp as number };
  }
}

function describe(err: unknown): string {
  if (err instanceof InvalidTokenError) return err.message;
  if (err instanceof errors.JWTExpired) return 'The token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The token is not meant for this server (aud)';
    if (err.claim === 'nbf') return 'The token is not valid yet (nbf)';
    return `The token's ${err.claim} claim is missing or not accepted`;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return 'The token is signed with a key the issuer does not publish';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The token signature does not verify';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JOSEError) return 'The token could not be verified';
  return 'The token could not be verified';
}

function callerOf(payload: JWTPayload): Caller {
  const claim = (name: string): string | undefined => (typeof payload[name] === 'string' ? (payload[name] as string) : undefined);
  const role = claim('sp_role');
  if (role !== undefined && !(ROLES as readonly string[]).includes(role)) throw new InvalidTokenError(`Unknown sp_role ${JSON.stringify(role)}`);
  return {
    subject: payload.sub as string,
    issuer: payload.iss as string,
    clientId: claim('client_id') ?? claim('azp'),
    scopes: parseScopes(claim('scope') ?? (Array.isArray(payload.scp) ? payload.scp.join(' ') : undefined)),
    role: role as Role | undefined,
    organization: claim('ods_code'),
    patient: claim('patient'),
  };
}
