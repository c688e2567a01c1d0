// A client that polls for changes as docs/storage.md ("Polling") tells it
// to: it remembers only the newest lastUpdated it saw, and asks for what came
// after it, by search (_lastUpdated=gt, every page) or by history (_since).
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** Fetches a path below the FHIR base ("/Patient?..."), answering the Bundle. */
export type FetchBundle = (path: string) => Promise<Bundle>;

const key = (r: Resource): string => `${r.id}/${r.meta?.versionId}`;
const pathBelowBase = (url: string): string => url.slice(url.indexOf('/fhir/') + '/fhir'.length);

export class Poller {
  /** The newest lastUpdated seen so far: all the poller keeps between polls. */
  newest = '1970-01-01T00:00:00.000Z';
  /** Every version answered, in the order answered, as "id/versionId". */
  readonly answered: string[] = [];
  /** History polls: the versions seen at exactly `newest`, which _since (inclusive) answers again. */
  private atNewest = new Set<string>();

  constructor(
    private readonly resourceType: string,
    private readonly fetchBundle: FetchBundle
  ) {}

  /** One search poll, following next links to the end; returns how many versions it answered. */
  async pollSearch(): Promise<number> {
    let path: string | undefined = `/${this.resourceType}?_lastUpdated=gt${this.newest}&_sort=_lastUpdated&_count=20`;
    let newest = this.newest;
    let count = 0;
    while (path) {
      const bundle = await this.fetchBundle(path);
      for (const entry of bundle.entry ?? []) {
        const resource = entry.resource as Resource;
        this.answered.push(key(resource));
        count++;
        if ((resource.meta?.lastUpdated as string) > newest) newest = resource.meta?.lastUpdated as string;
      }
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      path = next ? pathBelowBase(next) : undefined;
    }
    this.newest = newest;
    return count;
  }

  /** One history poll (_since is inclusive: versions at exactly `newest` that were already seen are left out). */
  async pollHistory(): Promise<number> {
    const bundle = await this.fetchBundle(`/${this.resourceType}/_history?_since=${this.newest}&_count=1000`);
    const versions = (bundle.entry ?? []).map((e) => e.resource as Resource).filter((r) => !this.atNewest.has(key(r)));
    if (versions.length === 1000) throw new Error('A history poll filled its page: poll more often');
    for (const resource of versions.reverse()) {
      this.answered.push(key(resource));
      const at = resource.meta?.lastUpdated as string;
      if (at > this.newest) {
        this.newest = at;
        this.atNewest = new Set();
      }
      if (at === this.newest) this.atNewest.add(key(resource));
    }
    return versions.length;
  }
}

/** The versions answered more than once. */
export const repeated = (answered: string[]): string[] => answered.filter((k, i) => answered.indexOf(k) !== i);
