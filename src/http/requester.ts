// Who is calling, for the resources the server hands to one client only (bulk
// export status and files). This is the single seam where the authenticated
// client will plug in: once OAuth lands, return the access token's subject
// (client id) here and nothing else changes.
//
// Until then the identity is what the client says in the X-Client-Id header,
// which the client should treat as a secret of its own choosing (the server
// stores only its SHA-256, bulk/export-service.ts). A client that sends none is
// "anonymous"; its jobs are then protected only by their unguessable job ids.
import type { Request } from 'express';

export const CLIENT_ID_HEADER = 'x-client-id';

export function requesterOf(req: Request): string {
  const client = req.get(CLIENT_ID_HEADER)?.trim();
  return client ? `client:${client}` : 'anonymous';
}
