// The conformance resources the server knows: the project's profiles and
// extensions (profiles/generated), its SearchParameters, and its terminology
// (terminology/). Loaded once at start; the validation pipeline, the
// CapabilityStatement and the store seeding all read from here. Terminology
// is stored at start and then served from the store (terminology/service.ts).
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import type { Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { clearIndexedParameters } from '../store/indexer';
import { bindingsOf, type Binding } from './bindings';
import { getBaseDefinition, loadBaseDefinitions } from '../base/definitions';
import { readResourceFolder } from '../base/project-files';
import { PROJECT_BASE } from '../base/project';
import type { ExtensionValue } from './checks/extension-values';

/** UK Core canonicals: accepted in meta.profile and reported as information (DOMAIN.md section 2). */
export const UK_CORE_PREFIX = 'https://fhir.hl7.org.uk/StructureDefinition/';

export class ConformanceRegistry {
  private readonly profiles = new Map<string, StructureDefinition>();
  private readonly bindings = new Map<string, Binding[]>();
  private readonly base = new Map<string, Binding[]>();
  readonly extensionBindings = new Map<string, Binding>();
  /** Extension url -> the value[x] types it allows, and the resource types its valueReference may point at. */
  readonly extensionValues = new Map<string, ExtensionValue>();
  readonly searchParameters: SearchParameter[] = [];
  /** Everything shipped, for storing as resources at start. */
  readonly shipped: Resource[] = [];

  static load(): ConformanceRegistry {
    loadBaseDefinitions();
    const registry = new ConformanceRegistry();
    const resources = [...readResourceFolder('profiles/generated'), ...readResourceFolder('profiles/measures'), ...readResourceFolder('terminology')];
    const definitions = resources.filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
    // Medplum's validator looks extension and profile definitions up by url.
    if (definitions.length > 0) indexStructureDefinitionBundle(definitions);
    for (const resource of resources) registry.add(resource);
    // The project's SearchParameters join R4's, so writes index them and searches accept them.
    if (registry.searchParameters.length > 0) {
      indexSearchParameterBundle({
        resourceType: 'Bundle',
        type: 'collection',
        entry: registry.searchParameters.map((resource) => ({ resource })),
      });
      clearIndexedParameters();
    }
    return registry;
  }

  add(resource: Resource): void {
    this.shipped.push(resource);
    switch (resource.resourceType) {
      case 'StructureDefinition':
        this.addStructureDefinition(resource);
        break;
      case 'SearchParameter':
        this.searchParameters.push(resource);
        break;
    }
  }

  private addStructureDefinition(sd: StructureDefinition): void {
    if (!sd.url) return;
    if (sd.type === 'Extension') {
      const value = sd.snapshot?.element?.find((e) => e.path === 'Extension.value[x]' && !e.id?.includes(':'));
      const { binding } = value ?? {};
      if (value?.type?.length) {
        const reference = value.type.find((t) => t.code === 'Reference');
        this.extensionValues.set(sd.url, {
          types: value.type.map((t) => t.code as string),
          targets: reference?.targetProfile?.map((p) => p.split('|')[0].split('/').pop() as string),
        });
      }
      if (binding?.valueSet && (binding.strength === 'required' || binding.strength === 'extensible')) {
        this.extensionBindings.set(sd.url, { path: 'Extension.value', strength: binding.strength, valueSet: binding.valueSet });
      }
      return;
    }
    this.profiles.set(sd.url, sd);
    // Extensible bindings are checked where the project chose the ValueSet; the
    // base resource's own extensible bindings would only add noise.
    this.bindings.set(
      sd.url,
      bindingsOf(sd).filter((b) => b.strength === 'required' || b.valueSet.startsWith(PROJECT_BASE))
    );
  }

  getProfile(url: string): StructureDefinition | undefined {
    return this.profiles.get(url.split('|')[0]);
  }

  getBindings(url: string): Binding[] {
    return this.bindings.get(url.split('|')[0]) ?? [];
  }

  /** Required bindings of the base R4 definition, for resources no profile applies to. */
  baseBindings(resourceType: string): Binding[] {
    let found = this.base.get(resourceType);
    if (!found) {
      const sd = getBaseDefinition(resourceType);
      found = sd ? bindingsOf(sd).filter((b) => b.strength === 'required') : [];
      this.base.set(resourceType, found);
    }
    return found;
  }

  /** Profile URLs per resource type, for CapabilityStatement.rest.resource.supportedProfile. */
  profilesFor(resourceType: string): string[] {
    return [...this.profiles.values()].filter((p) => p.type === resourceType).map((p) => p.url as string);
  }
}
