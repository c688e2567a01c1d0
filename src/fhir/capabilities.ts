// The CapabilityStatement (capabilitystatement.html), generated from what is
// really registered: resource types, the search parameters the indexer
// supports, and the operations in the registry. Nothing here is hand-listed.
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { getResourceTypeNames } from '../base/definitions';
import { getIndexedParameters, pendingParameter } from '../store/indexer';
import { writableThroughApi } from './authorize';
import type { FhirContext } from './context';
import { appliesToType, listOperations } from './operations/registry';
import { BACKPORT, REFERRAL_TASK_TOPIC } from '../subscriptions/criteria';

const READ_INTERACTIONS = ['read', 'vread', 'history-instance', 'history-type', 'search-type'] as const;
const WRITE_INTERACTIONS = ['create', 'update', 'patch', 'delete'] as const;

/** What the router serves for a type, as the access rules let it (authorize.ts): append-only types are read only. */
function interactionsFor(
  type: string
): Pick<CapabilityStatementRestResource, 'interaction' | 'updateCreate' | 'conditionalCreate' | 'conditionalUpdate' | 'conditionalDelete'> {
  if (!writableThroughApi(type)) {
    return {
      interaction: READ_INTERACTIONS.map((code) => ({ code })),
      updateCreate: false,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
    };
  }
  return {
    interaction: [...READ_INTERACTIONS, ...WRITE_INTERACTIONS].map((code) => ({ code })),
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
  };
}

/** Result parameters every type accepts (search.html#return). */
export const RESULT_PARAMETERS = [
  '_count',
  '_offset',
  '_sort',
  '_include',
  '_include:iterate',
  '_revinclude',
  '_revinclude:iterate',
  '_summary',
  '_elements',
  '_total',
  '_has',
];

const cache = new Map<string, { statement: CapabilityStatement; version: number }>();
/** Bumped when SearchParameters change, so the statement is built again. */
let parametersVersion = 0;
export function searchParametersChanged(): void {
  parametersVersion++;
}

export function buildCapabilityStatement(ctx: Pick<FhirContext, 'baseUrl' | 'supportedProfiles'>): CapabilityStatement {
  const cached = cache.get(ctx.baseUrl);
  if (cached && cached.version === parametersVersion) return cached.statement;
  const operations = listOperations();
  const resources: CapabilityStatementRestResource[] = getResourceTypeNames().map((type) => {
    const params = [...getIndexedParameters(type).values()].filter((p) => !pendingParameter(type, p.code));
    return {
      // The backport's way of announcing the topics a server publishes (subscriptions backport, CapabilityStatement).
      ...(type === 'Subscription'
        ? { extension: [{ url: `${BACKPORT}/StructureDefinition/capabilitystatement-subscriptiontopic-canonical`, valueCanonical: REFERRAL_TASK_TOPIC }] }
        : {}),
      type: type as CapabilityStatementRestResource['type'],
      ...(ctx.supportedProfiles(type).length > 0 ? { supportedProfile: ctx.supportedProfiles(type) } : {}),
      ...interactionsFor(type),
      versioning: 'versioned-update',
      readHistory: true,
      referencePolicy: ['literal', 'local'],
      searchInclude: params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
      searchParam: [
        { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
        ...params.map((p) => ({ name: p.code, type: p.type, definition: p.definition.url, documentation: p.definition.description })),
      ],
      operation: operations.filter((op) => (op.type || op.instance) && appliesToType(op, type)).map((op) => ({ name: op.name, definition: op.definition })),
    };
  });
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'Social prescribing FHIR server project',
    kind: 'instance',
    instantiates: [`${BACKPORT}/CapabilityStatement/backport-subscription-server-r4`],
    software: { name: 'social-prescribing-fhir-server', version: '0.1.0' },
    implementation: { description: 'FHIR R4 server for social prescribing', url: ctx.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description:
            'OAuth2 bearer JWTs with SMART v2 scopes (system/, user/, patient/), the sp_role and ods_code claims selecting role and organisation; see .well-known/smart-configuration.',
        },
        documentation: `Result parameters: ${RESULT_PARAMETERS.join(', ')}. Paging with _count and _offset.`,
        resource: resources,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        operation: operations.filter((op) => op.system).map((op) => ({ name: op.name, definition: op.definition })),
      },
    ],
  };
  cache.set(ctx.baseUrl, { statement, version: parametersVersion });
  return statement;
}
