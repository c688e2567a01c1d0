// SMART App Launch discovery ([base]/.well-known/smart-configuration): what a
// client needs to know before it has a token. Tokens come from the configured
// issuer (or `npm run token` for local use); this server issues none itself.
import type { Request, Response } from 'express';

export const SMART_CAPABILITIES = ['client-confidential-asymmetric', 'permission-v2', 'permission-v1', 'context-standalone-patient'];

export function smartConfiguration(baseUrl: string, tokenEndpoint?: string) {
  return (_req: Request, res: Response): void => {
    res.type('application/json').send(
      JSON.stringify({
        capabilities: SMART_CAPABILITIES,
        grant_types_supported: ['client_credentials', 'authorization_code'],
        scopes_supported: ['system/*.cruds', 'user/*.cruds', 'patient/*.rs', 'system/Task.rs', 'user/CarePlan.cruds'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        // Where tokens are verified: the audience they must carry.
        issuer: baseUrl,
        // The configured issuer's (AUTH_TOKEN_ENDPOINT); this server issues none itself.
        ...(tokenEndpoint ? { token_endpoint: tokenEndpoint } : {}),
      })
    );
  };
}
