// Gathers what the activity report counts: for each social prescribing
// referral authored in the period, its fulfilment Task with the Task's version
// history, the patient's sex and age band, the referrer's practice and PCN
// (ODS codes), onward activities with their type and provider, and ONS4
// outcomes. Referrals are read page by page, so a report over a large period
// holds its journeys' summaries, not the store.
import type { HealthcareService, Observation, Organization, Patient, PractitionerRole, Reference, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { StoragePort } from '../store/port';
import type { Repository } from '../store/repository';
import { and, type Filter } from '../store/search/filter';
import { ageBand } from './age-band';
import { ACTIVITY_TYPE, ODS_SYSTEM, ONS4, SNOMED, SOCIAL_PRESCRIBING_REFERRAL } from './codes';

const PAGE = 200;

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

const refOf = (r: Reference | undefined): string | undefined => r?.reference;
const odsOf = (org: Organization | undefined): string | undefined => org?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;

export class JourneyReader {
  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort
  ) {}

  private async read<T>(reference: string | undefined): Promise<T | undefined> {
    const [type, id] = (reference ?? '').split('/');
    if (!type || !id) return undefined;
    const v = await this.store.readCurrent(type, id);
    return v && !v.deleted ? (v.resource as T) : undefined;
  }

  /** Every journey whose referral was authored in the period, one page of referrals at a time. */
  async *journeys(period: Period): AsyncGenerator<Journey> {
    const filter = await this.repo.compileFilter('ServiceRequest', {
      code: [`${SNOMED}|${SOCIAL_PRESCRIBING_REFERRAL}`],
      authored: [`ge${period.start}`, `le${period.end}`],
    });
    let after: string | undefined;
    for (;;) {
      const page = await this.store.search({
        resourceType: 'ServiceRequest',
        filter: after ? and([filter, { kind: 'cmp', field: 'id', op: 'gt', value: after } as Filter]) : filter,
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: PAGE,
      });
      for (const row of page) yield this.journey(row.resource as ServiceRequest);
      if (page.length < PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  private async journey(referral: ServiceRequest): Promise<Journey> {
    const ref = `ServiceRequest/${referral.id}`;
    const tasks = (await this.repo.find('Task', { focus: [ref] }, 20)).map((v) => v.resource as Task);
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
      onward: await this.onward(ref),
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
  private async onward(referral: string): Promise<OnwardActivity[]> {
    const out: OnwardActivity[] = [];
    for (const v of await this.repo.find('ServiceRequest', { 'based-on': [referral] }, 100)) {
      const sr = v.resource as ServiceRequest;
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
