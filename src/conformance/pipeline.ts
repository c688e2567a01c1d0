// The validation pipeline, run on create, update, patch and inside Bundles
// (the Repository calls it) and by $validate, so both report the same issues:
//  1. structure against base R4 (skipped when a profile applies: a profile's
//     snapshot already covers the base, and nothing is validated twice);
//  2. every profile in meta.profile (unknown ones are errors, UK Core ones information);
//  3. the server's own profile for the type (domain/server-profiles.ts);
//  4. FHIRPath invariants of those profiles (evaluated by the validator with the snapshot);
//  5. terminology bindings of those profiles and of known extensions, and
//     every code of a complete CodeSystem the server holds;
//  6. what the profile validator does not check: value types and reference
//     targets of known extensions, the NHS number check digit and NHS identifier system
//     spellings (with clearer messages than the profiles' invariants), and
//     references that must resolve.
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { serverProfileFor } from '../domain/server-profiles';
import { checkBindings, checkExtensionBindings } from './bindings';
import { bundleReferenceType } from './checks/bundle-reference-types';
import { checkNhsIdentifiers } from './checks/nhs-number';
import { checkExtensionValues } from './checks/extension-values';
import { checkCodeSystemMembership } from './code-systems';
import { checkJsonShape } from './checks/json-shape';
import { checkSearchParameter } from './checks/search-parameter';
import { checkReferences } from './checks/references';
import { structureIssues } from './structure';
import { type ReferenceResolver } from '../base/references';
import { UK_CORE_PREFIX, type ConformanceRegistry } from './registry';
import type { TerminologyService } from './terminology/service';

export interface ValidateOptions {
  /** Profiles to apply besides those claimed and enforced ($validate's profile parameter). */
  profiles?: string[];
  /** Checks that references resolve; without it they are not checked. */
  resolveReference?: ReferenceResolver;
}

export interface PipelineOptions {
  baseUrl: string;
  enforcedTypes: ReadonlySet<string>;
  /** Where structure validation runs: validation threads, or (by default) this thread. */
  structure?: StructureValidator;
}

/** Structure issues of a resource against a profile of the registry (by url), or its base definition. */
export type StructureValidator = (resource: Resource, profileUrl?: string) => Promise<OperationOutcomeIssue[]>;

/** Structure validation on the calling thread. */
export function structureHere(registry: ConformanceRegistry): StructureValidator {
  return (resource, url) => Promise.resolve(structureIssues(resource, url ? registry.getProfile(url) : undefined));
}

/** Every issue carries a sentence a person understands (diagnostics) and a location. */
function readable(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  const where = issue.expression?.[0];
  // The validator only warns when a reference points at a type its element does not allow; R4 and the profiles forbid it.
  if (issue.severity === 'warning' && issue.details?.text?.startsWith('Invalid reference: got')) {
    const text = `${where ?? 'A reference'} points at the wrong type of resource: ${issue.details.text.replace('Invalid reference: ', '')}`;
    return { ...issue, severity: 'error', code: 'value', diagnostics: text, details: { text } };
  }
  // The validator's "Missing required property" is a cardinality breach: issue type "required".
  if (issue.details?.text === 'Missing required property' && where) {
    const text = `${where} is required but missing`;
    return { ...issue, code: 'required', diagnostics: text, details: { text } };
  }
  // The validator puts an invariant's FHIRPath (as JSON) in diagnostics and its human text in details.
  const machine = issue.diagnostics?.startsWith('{');
  const text = (machine ? issue.details?.text : issue.diagnostics) ?? issue.details?.text ?? 'Invalid';
  return { ...issue, diagnostics: text, details: issue.details ?? { text } };
}

const hasError = (issues: OperationOutcomeIssue[]): boolean => issues.some((i) => i.severity === 'error' || i.severity === 'fatal');

export class ValidationPipeline {
  private readonly structure: StructureValidator;

  constructor(
    private readonly registry: ConformanceRegistry,
    private readonly terminology: TerminologyService,
    private readonly options: PipelineOptions
  ) {
    this.structure = options.structure ?? structureHere(registry);
  }

  /** All issues found, errors and warnings alike; the caller decides what an error means. */
  async validate(resource: Resource, options: ValidateOptions = {}): Promise<OperationOutcomeIssue[]> {
    // A body of the wrong JSON shape is refused before the checks that read it as FHIR; the
    // structure validator still runs so that every problem is listed. It reads most shapes, but
    // not all: an object with its own valueOf where a primitive belongs makes it throw. The shape
    // issues refuse the body whatever it finds, so its failure only leaves them alone.
    const shape = checkJsonShape(resource);
    if (shape.length > 0) {
      const located = new Set(shape.flatMap((i) => i.expression ?? []));
      const structure = await this.structure(resource).catch((): OperationOutcomeIssue[] => []);
      return [...shape, ...structure.filter((i) => !(i.expression ?? []).some((e) => located.has(e)))];
    }
    const issues: OperationOutcomeIssue[] = [];
    const profiles: StructureDefinition[] = [];
    const claimed = resource.meta?.profile ?? [];
    claimed.forEach((url, i) => {
      const profile = this.registry.getProfile(url);
      if (profile) profiles.push(profile);
      else if (url.startsWith(UK_CORE_PREFIX)) {
        issues.push({
          severity: 'information',
          code: 'informational',
          expression: [`${resource.resourceType}.meta.profile[${i}]`],
          diagnostics: `UK Core profile ${url} is accepted; the server validates against its own profiles`,
        });
      } else {
        issues.push({
          severity: 'error',
          code: 'not-supported',
          expression: [`${resource.resourceType}.meta.profile[${i}]`],
          diagnostics: `Profile ${url} is not known to this server`,
        });
      }
    });
    for (const url of [...(options.profiles ?? []), serverProfileFor(resource, this.options.enforcedTypes)]) {
      if (!url) continue;
      const profile = this.registry.getProfile(url);
      if (!profile) issues.push({ severity: 'error', code: 'not-supported', diagnostics: `Profile ${url} is not known to this server` });
      else if (!profiles.includes(profile)) profiles.push(profile);
    }

    // On a validation thread, the serving thread serves other requests meanwhile.
    const structure = await Promise.all(profiles.length === 0 ? [this.structure(resource)] : profiles.map((profile) => this.structure(resource, profile.url)));
    if (profiles.length === 0) {
      issues.push(...structure[0]);
      issues.push(...(await checkBindings(resource, this.registry.baseBindings(resource.resourceType), this.terminology)));
    }
    for (const [i, profile] of profiles.entries()) {
      issues.push(...structure[i]);
      issues.push(...(await checkBindings(resource, this.registry.getBindings(profile.url as string), this.terminology)));
    }
    issues.push(...(await checkExtensionBindings(resource, this.registry.extensionBindings, this.terminology)));
    issues.push(...checkExtensionValues(resource, this.registry.extensionValues));
    issues.push(...(await checkCodeSystemMembership(resource, this.terminology)));
    issues.push(...checkNhsIdentifiers(resource));
    issues.push(...checkSearchParameter(resource));
    // Resolving references costs reads: only worth it for an otherwise valid resource.
    if (options.resolveReference && !hasError(issues)) {
      issues.push(...(await checkReferences(resource, this.options.baseUrl, options.resolveReference)));
    }
    // No type can be read from a urn:uuid reference: inside a Bundle the entry it names is checked instead.
    const typed = issues.map((i) => bundleReferenceType(resource, i)).filter((i): i is OperationOutcomeIssue => i !== undefined);
    return dedupe(typed.map(readable));
  }
}

/** Several profiles can report the same base problem; say it once. */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.severity}|${i.code}|${i.expression?.join(',')}|${i.diagnostics}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export { hasError };
