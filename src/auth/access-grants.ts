// The access grants of a commit (access-rules.ts): the grants of every version
// it writes, and the changes those writes make to the grants of resources they
// do not otherwise touch, committed with them and without new versions. A new
// Task owned by a service gives its link workers the Task's patient and, when
// that patient's grants change, every record about the patient; a new Task
// gives its owner's community providers the referral it fulfils.
//
// What a write adds is added in place (atomic in the store, so concurrent
// additions compose); a part whose sources changed otherwise (a Task
// reassigned, moved to another patient, deleted) is recomputed from all its
// sources, which are bounded by one patient's or one referral's records,
// never by an organisation's caseload.
import { ACCESS_CODE, grantsOf, setGrants, type AccessIndexer, type AccessPlan } from '../store/access-index';
import { indexField } from '../store/indexer';
import type { AccessChange, StoragePort, StoredVersion } from '../store/port';
import { DERIVATIONS, derivedRoles, forRole, hasGrants, inheritedRoles, OWN_GRANTS, patientRecordTypes, type GrantRole } from './access-rules';
import { Changes, GrantView, keyOf, refsOf, sameSet, storedPages } from './grant-view';
import { regrantNaming } from './grant-rebuild';
import { OrganisationCodes } from './organisation-ods';

export class AccessGrants implements AccessIndexer {
  constructor(
    private readonly store: StoragePort,
    private readonly baseUrl: string
  ) {}

  async plan(versions: StoredVersion[]): Promise<AccessPlan> {
    const involved = versions.filter((v) => hasGrants(v.resourceType) || DERIVATIONS.some((d) => d.sourceType === v.resourceType));
    const changes = involved.length > 0 ? await new CommitPlan(this.store, this.baseUrl, involved).run() : [];
    const renamed = await this.organisationsRecoded(versions.filter((v) => ORGANISATION_TYPES.has(v.resourceType)));
    if (renamed.length === 0) return { changes };
    return { changes, afterCommit: async () => void (await regrantNaming(this.store, this.baseUrl, renamed)) };
  }

  /**
   * The organisations, services and roles whose ODS codes this commit
   * changes (an Organization's identifier, the Organization a service or role
   * belongs to), with the services and roles of a changed Organization.
   */
  private async organisationsRecoded(versions: StoredVersion[]): Promise<string[]> {
    if (versions.length === 0) return [];
    const view = new GrantView(this.store, this.baseUrl, new Map(versions.map((v) => [keyOf(v), v])));
    const before = new OrganisationCodes((type, id) => view.committed(type, id), this.baseUrl);
    const recoded = new Set<string>();
    for (const v of versions) {
      const key = keyOf(v);
      const previous = await view.committed(v.resourceType, v.id);
      if (!previous || previous.deleted || sameSet(await before.of(key), await view.codes.of(key))) continue;
      recoded.add(key);
      if (v.resourceType !== 'Organization') continue;
      for (const type of ['HealthcareService', 'PractitionerRole']) {
        for await (const rows of storedPages(this.store, type, { kind: 'eq', field: indexField('organization'), value: key }))
          rows.forEach((r) => recoded.add(keyOf(r)));
      }
    }
    return [...recoded];
  }
}

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
};

/** The types whose ODS code (access-rules.ts, organisation-ods.ts) grants follow. */
const ORGANISATION_TYPES = new Set(['Organization', 'HealthcareService', 'PractitionerRole']);

interface DerivedEntry {
  adds: Set<string>;
  /** The part's sources changed in a way an addition cannot express: recompute it from all of them. */
  rescan: boolean;
}

class CommitPlan {
  private readonly view: GrantView;
  /** Every version written, by resource, in write order. */
  private readonly versionsOf = new Map<string, StoredVersion[]>();
  private readonly derivedEntries = new Map<string, Map<GrantRole, DerivedEntry>>();
  private readonly derived = new Map<string, Map<GrantRole, string[]>>();
  private readonly changedPatients = new Set<string>();
  private readonly inheritedParts = new Map<string, string[]>();
  private readonly changes = new Changes();

  constructor(store: StoragePort, baseUrl: string, versions: StoredVersion[]) {
    const latest = new Map<string, StoredVersion>();
    for (const v of versions) {
      latest.set(keyOf(v), v);
      this.versionsOf.set(keyOf(v), [...(this.versionsOf.get(keyOf(v)) ?? []), v]);
    }
    this.view = new GrantView(store, baseUrl, latest);
  }

  async run(): Promise<AccessChange[]> {
    // Every read the plan needs first, side by side: each is a round trip to the store.
    await Promise.all(
      [...this.view.pending.values()].map(async (v) => {
        await this.view.before(v);
        for (const { roles } of OWN_GRANTS[v.resourceType] ?? []) for (const role of roles) await this.view.ownGrants(v, role);
      })
    );
    await this.collectDerivedEntries();
    await Promise.all([...this.derivedEntries.keys()].map((target) => this.view.read(...splitKey(target))));
    await this.computeDerivedParts();
    for (const [key, v] of this.view.pending) if (!v.deleted && hasGrants(v.resourceType)) await this.setWrittenGrants(key, v);
    for (const patient of this.changedPatients) await this.sweepRecordsOf(patient);
    return this.changes.list();
  }

  private entry(target: string, role: GrantRole): DerivedEntry {
    const roles = this.derivedEntries.get(target) ?? new Map<GrantRole, DerivedEntry>();
    this.derivedEntries.set(target, roles);
    const entry = roles.get(role) ?? { adds: new Set<string>(), rescan: false };
    roles.set(role, entry);
    return entry;
  }

  /** What each written source adds to the parts it derives, or which parts it makes recompute. */
  private async collectDerivedEntries(): Promise<void> {
    for (const d of DERIVATIONS) {
      for (const v of this.view.pending.values()) {
        if (v.resourceType !== d.sourceType) continue;
        const now = await this.view.ownGrants(v, d.role);
        const targets = refsOf(v, d.via, d.targetType);
        const previous = await this.view.before(v);
        const before = previous && !previous.deleted ? forRole(grantsOf(previous), d.role) : [];
        const targetsBefore = refsOf(previous, d.via, d.targetType);
        if (!previous || previous.deleted || (sameSet(now, before) && sameSet(targets, targetsBefore))) {
          for (const t of targets) now.forEach((g) => this.entry(t, d.role).adds.add(g));
        } else {
          for (const t of new Set([...targets, ...targetsBefore])) this.entry(t, d.role).rescan = true;
        }
      }
    }
    // A written Patient or referral needs its derived parts even when no source of them was written.
    for (const [key, v] of this.view.pending) {
      if (!v.deleted) for (const d of derivedRoles(v.resourceType)) this.entry(key, d.role);
    }
  }

  private async computeDerivedParts(): Promise<void> {
    for (const [target, roles] of this.derivedEntries) {
      const [type, id] = splitKey(target);
      const current = await this.view.read(type, id);
      if (!current || current.deleted) continue;
      const written = this.view.pending.get(target);
      const committed = written ? await this.view.before(written) : current;
      const stored = grantsOf(committed);
      const parts = new Map<GrantRole, string[]>();
      for (const [role, entry] of roles) {
        const d = DERIVATIONS.find((x) => x.targetType === type && x.role === role);
        if (!d) continue;
        const before = forRole(stored, role);
        const after = entry.rescan ? await this.view.derive(d, target) : [...new Set([...before, ...entry.adds])].sort();
        parts.set(role, after);
        if (sameSet(before, after)) continue;
        if (!written) this.changes.record(target, before, after);
        // The patient's records take their grants from the patient; a new patient has none yet.
        if (type === 'Patient' && committed && !committed.deleted) this.changedPatients.add(target);
      }
      this.derived.set(target, parts);
    }
  }

  /** A patient's grants for a role, as they will be after the commit. */
  private async patientPart(patient: string, role: GrantRole): Promise<string[]> {
    const part = this.derived.get(patient)?.get(role);
    if (part) return part;
    const [type, id] = patient.split('/');
    return forRole(grantsOf(await this.view.read(type, id)), role);
  }

  /**
   * The part a record takes from its patients. Known once the derived parts
   * are (the patients' new grants), so it is kept for the plan: a sweep asks
   * it of every record about the patient, nearly all with the same patients.
   */
  private async inheritedPart(version: StoredVersion, role: GrantRole): Promise<string[]> {
    const patients = refsOf(version, 'patient', 'Patient');
    const key = `${role} ${patients.join(' ')}`;
    let part = this.inheritedParts.get(key);
    if (!part) {
      const parts = await Promise.all(patients.map((p) => this.patientPart(p, role)));
      part = [...new Set(parts.flat())];
      this.inheritedParts.set(key, part);
    }
    return part;
  }

  private async setWrittenGrants(key: string, v: StoredVersion): Promise<void> {
    const grants: string[] = [];
    for (const { roles } of OWN_GRANTS[v.resourceType] ?? []) for (const role of roles) grants.push(...(await this.view.ownGrants(v, role)));
    for (const d of derivedRoles(v.resourceType)) grants.push(...(this.derived.get(key)?.get(d.role) ?? []));
    for (const role of inheritedRoles(v.resourceType)) grants.push(...(await this.inheritedPart(v, role)));
    // Earlier versions of the resource in this commit go to history with the same grants.
    for (const version of this.versionsOf.get(key) ?? []) if (!version.deleted) setGrants(version, grants);
  }

  /**
   * Every stored record about a patient whose grants changed takes the new
   * ones. A patient has records of a few of the many record types: the store
   * finds them in one look-up, with their index fields, where the grants are.
   */
  private async sweepRecordsOf(patient: string): Promise<void> {
    for (const row of await this.view.store.indexesHolding(patientRecordTypes(), indexField('patient'), patient, [ACCESS_CODE, 'patient'])) {
      const key = keyOf(row);
      if (this.view.pending.has(key)) continue;
      for (const role of inheritedRoles(row.resourceType)) this.changes.record(key, forRole(grantsOf(row), role), await this.inheritedPart(row, role));
    }
  }
}
