// Who is calling, for the resources the server hands to one client only (bulk
// export status and files): the verified bearer token's issuer and subject.
// With authentication off (AUTH=off, loopback only) every caller is the same
// local user; the X-Client-Id header then keeps local clients' jobs apart.
// The job stores only a SHA-256 of this (bulk/export-service.ts).
import type { Request, Response } from 'express';
import { callerOf } from './authenticate';

export const CLIENT_ID_HEADER = 'x-client-id';

export function requesterOf(req: Request, res: Response): string {
  const caller = callerOf(res);
  if (caller && !caller.unrestricted) return `token:${caller.issuer}|${caller.subject}`;
  const client = req.get(CLIENT_ID_HEADER)?.trim();
  return client ? `client:${client}` : 'anonymous';
}
