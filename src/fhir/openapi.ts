// The OpenAPI 3.1 description of the API ([base]/openapi.json), generated from
// the CapabilityStatement (types, interactions, search parameters, profiles,
// operations) and the operation registry (the level each operation is called
// at), so it never says more or less than /metadata. Resource bodies are
// described by links: each type to its R4 page, each profile to its
// StructureDefinition on this server; FHIR's own schema is not repeated here.
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { listOperations, type OperationDeclaration } from './operations/registry';
import { RESULT_PARAMETERS } from './capabilities';

type Json = Record<string, unknown>;

const FHIR_JSON = 'application/fhir+json';
const R4 = 'http://hl7.org/fhir/R4';

const ref = (kind: 'schemas' | 'parameters' | 'responses', name: string): Json => ({ $ref: `#/components/${kind}/${name.replace(/[^A-Za-z0-9._-]/g, '_')}` });
const body = (schema: Json): Json => ({ content: { [FHIR_JSON]: { schema } } });

/** Every failure (400, 401, 403, 404, 409, 412, 422, ...) is an OperationOutcome: one shared answer keeps the document small. */
const ERRORS: Json = { default: ref('responses', 'Error') };

function respond(description: string, schema: Json, extra: Json = {}): Json {
  return { '200': { description, ...body(schema) }, ...extra, ...ERRORS };
}

const schemaName = (profile: string): string => `profile-${profile.slice(profile.lastIndexOf('/') + 1)}`;

function components(statement: CapabilityStatement, resources: CapabilityStatementRestResource[], baseUrl: string): Json {
  const schemas: Json = {
    Resource: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { type: 'string' }, id: { type: 'string' } },
      externalDocs: { url: `${R4}/resource.html` },
    },
    Bundle: { type: 'object', required: ['resourceType'], properties: { resourceType: { const: 'Bundle' } }, externalDocs: { url: `${R4}/bundle.html` } },
    OperationOutcome: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { const: 'OperationOutcome' } },
      externalDocs: { url: `${R4}/operationoutcome.html` },
    },
    Parameters: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { const: 'Parameters' } },
      externalDocs: { url: `${R4}/parameters.html` },
    },
    CapabilityStatement: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { const: 'CapabilityStatement' } },
      externalDocs: { url: `${R4}/capabilitystatement.html` },
    },
  };
  for (const r of resources) {
    schemas[r.type] = {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { const: r.type } },
      description: `A FHIR R4 ${r.type}.`,
      externalDocs: { description: `${r.type} in FHIR R4`, url: `${R4}/${r.type.toLowerCase()}.html` },
    };
    for (const profile of r.supportedProfile ?? []) {
      schemas[schemaName(profile)] = {
        allOf: [ref('schemas', r.type)],
        description: `A ${r.type} conforming to the profile ${profile}.`,
        externalDocs: { description: 'The StructureDefinition on this server', url: `${baseUrl}/StructureDefinition?url=${encodeURIComponent(profile)}` },
        'x-fhir-profile': profile,
      };
    }
  }
  const text = (description: string, schema: Json = { type: 'string' }) => ({ description, schema });
  const parameters: Json = {
    id: { name: 'id', in: 'path', required: true, ...text('The logical id of the resource', { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' }) },
    vid: { name: 'vid', in: 'path', required: true, ...text('The version id') },
    'If-Match': { name: 'If-Match', in: 'header', required: false, ...text('The version the change is made to, as an ETag: W/"3"') },
    'If-None-Exist': { name: 'If-None-Exist', in: 'header', required: false, ...text('Conditional create: search parameters that must find nothing') },
    'operation-parameters': {
      name: 'parameters',
      in: 'query',
      required: false,
      style: 'form',
      explode: true,
      ...text("The operation's input parameters, by name", { type: 'object', additionalProperties: { type: 'string' } }),
    },
  };
  for (const name of RESULT_PARAMETERS) {
    parameters[name.replace(/[^A-Za-z0-9._-]/g, '_')] = { name, in: 'query', required: false, ...text(`Result parameter ${name} (${R4}/search.html)`) };
  }
  return {
    schemas,
    parameters,
    responses: { Error: { description: 'The request failed; the OperationOutcome says why', ...body(ref('schemas', 'OperationOutcome')) } },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: statement.rest?.[0]?.security?.description ?? 'OAuth2 bearer JWT' },
    },
  };
}

/** What a create or update of the type takes: any of its profiles, or the type itself. */
function resourceBody(r: CapabilityStatementRestResource): Json {
  const profiles = (r.supportedProfile ?? []).map((p) => ref('schemas', schemaName(p)));
  return { required: true, ...body(profiles.length > 0 ? { anyOf: [...profiles, ref('schemas', r.type)] } : ref('schemas', r.type)) };
}

/** The first line of a SearchParameter's description, which for shared R4 parameters goes on to list every type. */
function summaryOf(documentation: string | undefined): string | undefined {
  const line = documentation
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => l && !/^Multiple Resources:?$/i.test(l));
  if (!line) return undefined;
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function searchParameters(r: CapabilityStatementRestResource): Json[] {
  const own = (r.searchParam ?? []).map((p) => ({
    name: p.name,
    in: 'query',
    required: false,
    description: `${summaryOf(p.documentation) ?? p.name} (${p.type})`,
    schema: { type: 'string' },
    'x-fhir-search-type': p.type,
    ...(p.definition ? { 'x-fhir-definition': p.definition } : {}),
  }));
  return [...own, ...RESULT_PARAMETERS.map((n) => ref('parameters', n))];
}

function interactionPaths(r: CapabilityStatementRestResource, paths: Record<string, Json>): void {
  const has = new Set((r.interaction ?? []).map((i) => i.code));
  const T = r.type;
  const tags = [T];
  const op = (summary: string, operationId: string, extra: Json): Json => ({ tags, summary, operationId: `${operationId}-${T}`, ...extra });
  const typePath: Json = {};
  const instancePath: Json = {};
  if (has.has('search-type')) {
    typePath.get = op(`Search ${T}`, 'search-type', { parameters: searchParameters(r), responses: respond('A searchset Bundle', ref('schemas', 'Bundle')) });
    paths[`/${T}/_search`] = {
      post: op(`Search ${T} with a form body`, 'search-type-post', {
        requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: { type: 'string' } } } } },
        responses: respond('A searchset Bundle', ref('schemas', 'Bundle')),
      }),
    };
  }
  if (has.has('create')) {
    typePath.post = op(`Create a ${T}`, 'create', {
      parameters: r.conditionalCreate ? [ref('parameters', 'If-None-Exist')] : [],
      requestBody: resourceBody(r),
      responses: { '201': { description: 'Created', ...body(ref('schemas', T)) }, ...ERRORS },
    });
  }
  if (r.conditionalUpdate && has.has('update'))
    typePath.put = op(`Update the ${T} the search finds (conditional update)`, 'conditional-update', {
      requestBody: resourceBody(r),
      responses: respond('Updated', ref('schemas', T), { '201': { description: 'Created' } }),
    });
  if (r.conditionalDelete && r.conditionalDelete !== 'not-supported' && has.has('delete'))
    typePath.delete = op(`Delete the ${T} the search finds (conditional delete)`, 'conditional-delete', {
      responses: respond('Deleted', ref('schemas', 'OperationOutcome')),
    });
  if (has.has('read')) instancePath.get = op(`Read a ${T}`, 'read', { parameters: [ref('parameters', 'id')], responses: respond(T, ref('schemas', T)) });
  if (has.has('update'))
    instancePath.put = op(`Update (or create) a ${T}`, 'update', {
      parameters: [ref('parameters', 'id'), ref('parameters', 'If-Match')],
      requestBody: resourceBody(r),
      responses: respond('Updated', ref('schemas', T), { '201': { description: 'Created' } }),
    });
  if (has.has('patch')) {
    instancePath.patch = op(`Patch a ${T} (JSON Patch)`, 'patch', {
      parameters: [ref('parameters', 'id'), ref('parameters', 'If-Match')],
      requestBody: { required: true, content: { 'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } } } },
      responses: respond('Patched', ref('schemas', T)),
    });
  }
  if (has.has('delete'))
    instancePath.delete = op(`Delete a ${T}`, 'delete', {
      parameters: [ref('parameters', 'id')],
      responses: respond('Deleted', ref('schemas', 'OperationOutcome')),
    });
  if (Object.keys(typePath).length > 0) paths[`/${T}`] = typePath;
  if (Object.keys(instancePath).length > 0) paths[`/${T}/{id}`] = instancePath;
  if (has.has('history-type'))
    paths[`/${T}/_history`] = { get: op(`History of every ${T}`, 'history-type', { responses: respond('A history Bundle', ref('schemas', 'Bundle')) }) };
  if (has.has('history-instance'))
    paths[`/${T}/{id}/_history`] = {
      get: op(`History of a ${T}`, 'history-instance', {
        parameters: [ref('parameters', 'id')],
        responses: respond('A history Bundle', ref('schemas', 'Bundle')),
      }),
    };
  if (has.has('vread'))
    paths[`/${T}/{id}/_history/{vid}`] = {
      get: op(`Read a version of a ${T}`, 'vread', {
        parameters: [ref('parameters', 'id'), ref('parameters', 'vid')],
        responses: respond(T, ref('schemas', T)),
      }),
    };
}

/** The operation's declared input parameters, or any name=value where it declares none. */
function operationParameters(entry: OperationDeclaration): Json[] {
  if (!entry.parameters) return [ref('parameters', 'operation-parameters')];
  return entry.parameters.map((p) => ({ name: p.name, in: 'query', required: p.required ?? false, description: p.description, schema: { type: 'string' } }));
}

/** GET and POST of an operation at one path. */
function operationPath(entry: OperationDeclaration, level: 'system' | 'type' | 'instance', type?: string): Json {
  const where = level === 'system' ? 'the server' : level === 'type' ? `the ${type} type` : `a ${type}`;
  const tags = [type ?? 'Operations'];
  const idParam = level === 'instance' ? [ref('parameters', 'id')] : [];
  const opId = `${entry.name}-${level}${type ? `-${type}` : ''}`;
  const common = { tags, externalDocs: { description: 'OperationDefinition', url: entry.definition } };
  return {
    get: {
      ...common,
      summary: `$${entry.name} on ${where}`,
      operationId: `${opId}-get`,
      parameters: [...idParam, ...operationParameters(entry)],
      responses: respond('The result', ref('schemas', 'Resource')),
    },
    post: {
      ...common,
      summary: `$${entry.name} on ${where}, parameters in the body`,
      operationId: `${opId}-post`,
      parameters: idParam,
      requestBody: body(ref('schemas', 'Parameters')),
      responses: respond('The result', ref('schemas', 'Resource')),
    },
  };
}

/** The whole API, or the server's own paths and just these resource types (a lighter document for the explorer). */
export function buildOpenApi(statement: CapabilityStatement, baseUrl: string, types?: string[]): Json {
  const rest = statement.rest?.[0] ?? { mode: 'server' };
  const resources = (rest.resource ?? []).filter((r) => !types || types.includes(r.type));
  const paths: Record<string, Json> = {};
  paths['/metadata'] = {
    get: {
      tags: ['Server'],
      summary: 'The CapabilityStatement',
      operationId: 'capabilities',
      security: [],
      responses: { '200': { description: 'What this server supports', ...body(ref('schemas', 'CapabilityStatement')) } },
    },
  };
  const system = new Set((rest.interaction ?? []).map((i) => i.code));
  if (system.has('transaction') || system.has('batch')) {
    const kinds = ['batch', 'transaction'].filter((k) => system.has(k as 'batch'));
    paths['/'] = {
      post: {
        tags: ['Server'],
        summary: `A ${kinds.join(' or ')} Bundle`,
        operationId: kinds.join('-'),
        requestBody: body(ref('schemas', 'Bundle')),
        responses: respond('The response Bundle', ref('schemas', 'Bundle')),
      },
    };
  }
  if (system.has('history-system'))
    paths['/_history'] = {
      get: {
        tags: ['Server'],
        summary: 'History of every resource',
        operationId: 'history-system',
        responses: respond('A history Bundle', ref('schemas', 'Bundle')),
      },
    };
  for (const r of resources) interactionPaths(r, paths);
  // Operations: each at the levels the registry declares, for what the statement lists.
  const declared = new Set([
    ...(rest.operation ?? []).map((o) => `|${o.definition}`),
    ...resources.flatMap((r) => (r.operation ?? []).map((o) => `${r.type}|${o.definition}`)),
  ]);
  for (const entry of listOperations()) {
    if (entry.system && declared.has(`|${entry.definition}`)) paths[`/$${entry.name}`] = operationPath(entry, 'system');
    for (const r of resources) {
      if (!declared.has(`${r.type}|${entry.definition}`)) continue;
      if (entry.type) paths[`/${r.type}/$${entry.name}`] = operationPath(entry, 'type', r.type);
      if (entry.instance) paths[`/${r.type}/{id}/$${entry.name}`] = operationPath(entry, 'instance', r.type);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: statement.software?.name ?? 'FHIR server',
      version: statement.software?.version ?? '0',
      description:
        `${statement.implementation?.description ?? 'FHIR R4 server'}. FHIR ${statement.fhirVersion}. Generated from the CapabilityStatement at ${baseUrl}/metadata. ${rest.documentation ?? ''}`.trim(),
    },
    externalDocs: { description: 'The CapabilityStatement', url: `${baseUrl}/metadata` },
    // First the base path on the page's own origin (what the explorer calls), then the configured base URL.
    servers: [
      { url: new URL(baseUrl).pathname.replace(/\/$/, '') || '/', description: 'This server' },
      { url: baseUrl, description: 'The configured base URL' },
    ],
    security: [{ bearer: [] }],
    tags: [{ name: 'Server' }, { name: 'Operations' }, ...resources.map((r) => ({ name: r.type }))],
    paths,
    components: components(statement, resources, baseUrl),
  };
}
