// Gathers what the activity report counts: for each social prescribing
// referral authored in the period, its fulfilment Task with the Task's version
// history, the patient's sex and age band, the referrer's practice and PCN
// (ODS codes), onward activities with their type and provider, and ONS4
// outcomes. Referrals are read page by page, so a report over a large period
// holds its journeys' summaries, not the store. Each page is found by the
// period's conditions again, after the last page's id, so the store
// gathers every referral of what it searches for each page: the period is
// searched a month at a time, and that work grows with the referrals of a
// month, not with the square of the period's. For a year's referrals on
// the embedded store (npm run bench:report), the report took 2.99 s at
// 10,000 and 18.2 s at 30,000 searched whole, 2.80 s and 10.5 s so.
//
// On MongoDB every read is a round trip, so reads are few and side by side:
// each page's fulfilment Tasks and onward referrals are found in one search
// each, its journeys are then resolved side by side, and the directory
// resources most journeys share (practices, PCNs, roles, services,
// providers) are read once per report. Read one after another, 100 journeys
// took 52.7 s on FerretDB (where every look-up but by _id reads the whole
// collection); read this way, 31.3 s (npm run bench:report).
import type { HealthcareService, Observation, Organization, Patient, PractitionerRole, Reference, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { StoragePort, StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { eachSideBySide } from '../base/side-by-side';
import { and, type Filter } from '../store/search/filter';
import { ageBand } from './age-band';
import { ACTIVITY_TYPE, ODS_SYSTEM, ONS4, SNOMED, SOCIAL_PRESCRIBING_REFERRAL } from './codes';

const PAGE = 200;
/** Days of the period searched at a time. */
const WINDOW_DAYS = 31;
const DAY_MS = 86_400_000;
/** Journeys of a page resolved at once. */
const SIDE_BY_SIDE = 16;
/** The directory types a report reads once: few resources, named by nearly every journey. */
const SHARED_TYPES = new Set(['Organization', 'PractitionerRole', 'HealthcareService']);

export interface OnwardActivity {
  activityTypes: string[];
  provider?: string;
}

export interface Journey {
  referral: ServiceRequest;
  task?: Task;
  /** The Task's versions, oldest first. */
  history: Task[];
  sex: string;
  ageBand: string;
  practiceOds?: string;
  pcnOds?: string;
  /** The Task owner and, for a link worker, their organisation. */
  owners: string[];
  onward: OnwardActivity[];
  ons4: Observation[];
}

export interface Period {
  start: string;
  end: string;
}

/**
 * The period's `authored` conditions, WINDOW_DAYS at a time: each window
 * from its first day (ge) to before the next window's (lt), the last to the
 * period's end (le). Together they select what the whole period selects.
 */
export function windowsOf(period: Period): string[][] {
  const windows: string[][] = [];
  const end = Date.parse(period.end);
  let from = period.start;
  for (;;) {
    const next = new Date(Date.parse(from) + WINDOW_DAYS * DAY_MS).toISOString().slice(0, 10);
    if (Date.parse(next) > end) break;
    windows.push([`ge${from}`, `lt${next}`]);
    from = next;
  }
  windows.push([`ge${from}`, `le${period.end}`]);
  return windows;
}

const refOf = (r: Reference | undefined): string | undefined => r?.reference;
const odsOf = (org: Organization | undefined): string | undefined => org?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;

export class JourneyReader {
  /** This report's reads of directory resources, by reference. */
  private readonly shared = new Map<string, Promise<unknown>>();

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort
  ) {}

  private read<T>(reference: string | undefined): Promise<T | undefined> {
    const [type, id] = (reference ?? '').split('/');
    if (!type || !id) return Promise.resolve(undefined);
    if (!SHARED_TYPES.has(type)) return this.readNow<T>(type, id);
    let read = this.shared.get(reference as string);
    if (!read) {
      read = this.readNow<T>(type, id);
      this.shared.set(reference as string, read);
    }
    return read as Promise<T | undefined>;
  }

  private async readNow<T>(type: string, id: string): Promise<T | undefined> {
    const v = await this.store.readCurrent(type, id);
    return v && !v.deleted ? (v.resource as T) : undefined;
  }

  /** Every journey whose referral was authored in the period, one page of referrals at a time. */
  async *journeys(period: Period): AsyncGenerator<Journey> {
    // A referral authored on a day, not at an instant, may overlap two windows: it is counted in the first.
    const seen = new Set<string>();
    for (const authored of windowsOf(period)) {
      const filter = await this.repo.compileFilter('ServiceRequest', { code: [`${SNOMED}|${SOCIAL_PRESCRIBING_REFERRAL}`], authored });
      for await (const page of this.pages('ServiceRequest', filter)) {
        const fresh = page.filter((row) => !seen.has(row.id));
        fresh.forEach((row) => seen.add(row.id));
        for (const journey of await this.journeysOf(fresh.map((row) => row.resource as ServiceRequest))) yield journey;
      }
    }
  }

  /** The current resources that match, PAGE at a time in id order. */
  private async *pages(resourceType: string, filter: Filter): AsyncGenerator<StoredVersion[]> {
    let after: string | undefined;
    for (;;) {
      const page = await this.store.search({
        resourceType,
        filter: after ? and([filter, { kind: 'cmp', field: 'id', op: 'gt', value: after } as Filter]) : filter,
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: PAGE,
      });
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  /**
   * The resources of a type whose reference parameter names any of the
   * referrals, by referral, in id order. They are grouped by the references
   * the search found them by (the index's, which are relative however the
   * resource wrote them).
   */
  private async referring<T>(resourceType: string, parameter: string, referrals: string[]): Promise<Map<string, T[]>> {
    const out = new Map<string, T[]>();
    if (referrals.length === 0) return out;
    const wanted = new Set(referrals);
    // One search for the page: its values are ORed (a comma-separated list).
    const filter = await this.repo.compileFilter(resourceType, { [parameter]: [referrals.join(',')] });
    for await (const page of this.pages(resourceType, filter)) {
      for (const row of page) {
        const indexed: unknown[] = Array.isArray(row.idx[parameter]) ? row.idx[parameter] : [];
        for (const reference of new Set(indexed)) {
          if (typeof reference !== 'string' || !wanted.has(reference)) continue;
          const found = out.get(reference) ?? [];
          found.push(row.resource as T);
          out.set(reference, found);
        }
      }
    }
    return out;
  }

  /** The page's journeys, in its order, SIDE_BY_SIDE resolved at a time. */
  private async journeysOf(referrals: ServiceRequest[]): Promise<Journey[]> {
    const refs = referrals.map((r) => `ServiceRequest/${r.id}`);
    const [tasks, onward] = await Promise.all([
      this.referring<Task>('Task', 'focus', refs),
      this.referring<ServiceRequest>('ServiceRequest', 'based-on', refs),
    ]);
    const out: Journey[] = new Array(referrals.length);
    await eachSideBySide(referrals, SIDE_BY_SIDE, async (referral, at) => {
      out[at] = await this.journey(referral, tasks.get(refs[at]) ?? [], onward.get(refs[at]) ?? []);
    });
    return out;
  }

  /** A referral's journey, given the Tasks that fulfil it and its onward referrals. */
  private async journey(referral: ServiceRequest, tasks: Task[], onwardReferrals: ServiceRequest[]): Promise<Journey> {
    const task = tasks.find((t) => !t.partOf?.length);
    const history = task
      ? (await this.store.readHistory({ resourceType: 'Task', id: task.id, offset: 0, limit: 10000 }))
          .filter((v) => !v.deleted)
          .map((v) => v.resource as Task)
          .reverse()
      : [];
    const patient = await this.read<Patient>(refOf(referral.subject));
    const { practiceOds, pcnOds } = await this.referrer(refOf(referral.requester));
    const owners: string[] = [];
    const owner = refOf(task?.owner);
    if (owner) {
      owners.push(owner);
      if (owner.startsWith('PractitionerRole/')) {
        const organization = refOf((await this.read<PractitionerRole>(owner))?.organization);
        if (organization) owners.push(organization);
      }
    }
    return {
      referral,
      task,
      history,
      sex: patient?.gender ?? 'unknown',
      ageBand: ageBand(patient?.birthDate, referral.authoredOn ?? new Date().toISOString()),
      practiceOds,
      pcnOds,
      owners,
      onward: await this.onward(onwardReferrals),
      ons4: await this.outcomes(task),
    };
  }

  /** The referrer's practice (the requester's organisation) and its PCN (the practice's partOf). */
  private async referrer(requester: string | undefined): Promise<{ practiceOds?: string; pcnOds?: string }> {
    let organization: Organization | undefined;
    if (requester?.startsWith('PractitionerRole/'))
      organization = await this.read<Organization>(refOf((await this.read<PractitionerRole>(requester))?.organization));
    else if (requester?.startsWith('Organization/')) organization = await this.read<Organization>(requester);
    const pcn = await this.read<Organization>(refOf(organization?.partOf));
    return { practiceOds: odsOf(organization), pcnOds: odsOf(pcn) };
  }

  /** Onward referrals (ServiceRequests basedOn the referral): activity type from their code or the service's type; provider the service's organisation. */
  private async onward(onwardReferrals: ServiceRequest[]): Promise<OnwardActivity[]> {
    const out: OnwardActivity[] = [];
    for (const sr of onwardReferrals) {
      const service = await this.read<HealthcareService>(sr.performer?.map(refOf).find((r) => r?.startsWith('HealthcareService/')));
      const codes = (sr.code?.coding ?? []).filter((c) => c.system === ACTIVITY_TYPE);
      const types = codes.length > 0 ? codes : (service?.type ?? []).flatMap((t) => t.coding ?? []).filter((c) => c.system === ACTIVITY_TYPE);
      const provider = await this.read<Organization>(refOf(service?.providedBy));
      out.push({ activityTypes: [...new Set(types.map((c) => c.code as string))], provider: provider?.name ?? refOf(service?.providedBy) });
    }
    return out;
  }

  /** ONS4 Observations among the Task's outputs. */
  private async outcomes(task: Task | undefined): Promise<Observation[]> {
    const out: Observation[] = [];
    for (const output of task?.output ?? []) {
      const reference = output.valueReference?.reference;
      if (!reference?.startsWith('Observation/')) continue;
      const obs = await this.read<Observation>(reference);
      if (obs?.code?.coding?.some((c) => c.system === ONS4)) out.push(obs);
    }
    return out;
  }
}
