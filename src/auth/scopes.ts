// SMART App Launch v2 scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
// <context>/<resource type or *>.<permissions>, where permissions are the
// letters c r u d s in that order (v2) or read / write / * (v1, still common).
// Scopes with a query restriction (Task.rs?status=...) are not supported and
// are ignored, which only ever narrows what a token may do.

export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export type ScopeContext = 'patient' | 'user' | 'system';

export interface ResourceScope {
  context: ScopeContext;
  /** A resource type, or * for all. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
}

const SCOPE = /^(patient|user|system)\/([A-Z][A-Za-z]*|\*)\.(c?r?u?d?s?|read|write|\*)$/;
const V1: Record<string, Permission[]> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };

export function parseScopes(text: string | undefined): ResourceScope[] {
  const scopes: ResourceScope[] = [];
  for (const word of (text ?? '').split(/\s+/)) {
    const m = SCOPE.exec(word);
    if (!m || m[3] === '') continue;
    const permissions = V1[m[3]] ?? (m[3].split('') as Permission[]);
    scopes.push({ context: m[1] as ScopeContext, resourceType: m[2], permissions: new Set(permissions) });
  }
  return scopes;
}

/** The scopes that grant this permission on this type. */
export function grantingScopes(scopes: ResourceScope[], resourceType: string, permission: Permission): ResourceScope[] {
  return scopes.filter((s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.permissions.has(permission));
}

export const PERMISSION_NAMES: Record<Permission, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };
