// What a Subscription watches, and whether a resource version is one of its
// events. Two forms:
//   R4 criteria     "Task?owner=PractitionerRole/123" (subscription.html): every
//                   new version matching the search is an event;
//   backport topic  criteria = REFERRAL_TASK_TOPIC, with filters in
//                   backport-filter-criteria extensions ("Task?owner=..."):
//                   an event when a referral Task is created or its status changes.
// Matching runs in memory against the stored version with @medplum/core's
// search matcher, the same parser the server's search uses.
import type { Resource, Subscription } from '@medplum/fhirtypes';
import { matchesSearchRequest, parseSearchRequest, type SearchRequest } from '@medplum/core';
import { PROJECT_BASE } from '../base/project';
import { badRequest } from '../base/outcomes';
import { getIndexedParameters } from '../store/indexer';

export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport';
export const FILTER_CRITERIA_URL = `${BACKPORT}/StructureDefinition/backport-filter-criteria`;
/** The topic this server publishes: a referral Task is created or changes status. */
export const REFERRAL_TASK_TOPIC = `${PROJECT_BASE}/SubscriptionTopic/referral-task-status`;
/** Filters the topic allows, as Task search parameters. */
export const TOPIC_FILTERS = ['owner', 'requester', 'status'];
/** Types an R4 criteria may watch: the referral and its Tasks. */
export const WATCHABLE_TYPES = ['Task', 'ServiceRequest'];

export interface Criteria {
  resourceType: string;
  /** The search every event's resource matches (with the topic's filters, for a topic). */
  search: SearchRequest;
  /** Set for a topic-based subscription: only creations and status changes are events. */
  topic?: string;
}

type WithCriteriaExtensions = Subscription & { _criteria?: { extension?: { url: string; valueString?: string }[] } };

function parseSearch(text: string, expression: string, allowed?: string[]): SearchRequest {
  const match = /^([A-Za-z]+)(\?.*)?$/.exec(text.trim());
  if (!match || !WATCHABLE_TYPES.includes(match[1])) {
    throw badRequest(`${expression} must be a search over one of ${WATCHABLE_TYPES.join(', ')}, such as Task?owner=HealthcareService/123`, [expression]);
  }
  const search = parseSearchRequest(text.trim());
  const known = getIndexedParameters(search.resourceType);
  for (const filter of search.filters ?? []) {
    const code = filter.code.split(':')[0];
    const usable = code === '_id' || (known.has(code) && !code.includes('.'));
    if (!usable || (allowed && !allowed.includes(code))) {
      const choices = allowed ? ` (the topic filters on ${allowed.join(', ')})` : '';
      throw badRequest(`${expression}: ${filter.code} is not a search parameter a subscription can filter on${choices}`, [expression]);
    }
  }
  const extra = [...(search.sortRules ?? []), ...(search.include ?? []), ...(search.revInclude ?? [])];
  if (extra.length > 0 || search.count !== undefined || search.offset !== undefined) {
    throw badRequest(`${expression} takes search criteria only, not result parameters (_sort, _count, _include, ...)`, [expression]);
  }
  return search;
}

/** The criteria of a Subscription; a 400 naming what is wrong otherwise. */
export function criteriaOf(subscription: Subscription): Criteria {
  const text = subscription.criteria;
  if (typeof text !== 'string' || text.trim() === '') throw badRequest('Subscription.criteria is required', ['Subscription.criteria']);
  if (text === REFERRAL_TASK_TOPIC) {
    const filters = ((subscription as WithCriteriaExtensions)._criteria?.extension ?? []).filter((e) => e.url === FILTER_CRITERIA_URL);
    const search: SearchRequest = { resourceType: 'Task', filters: [] };
    for (const f of filters) {
      const parsed = parseSearch(f.valueString ?? '', 'Subscription.criteria.extension(backport-filter-criteria)', TOPIC_FILTERS);
      if (parsed.resourceType !== 'Task') throw badRequest('The referral Task topic filters Tasks: Task?owner=...', ['Subscription.criteria']);
      search.filters?.push(...(parsed.filters ?? []));
    }
    return { resourceType: 'Task', search, topic: REFERRAL_TASK_TOPIC };
  }
  if (/^https?:\/\//.test(text)) throw badRequest(`Unknown topic ${text}; this server publishes ${REFERRAL_TASK_TOPIC}`, ['Subscription.criteria']);
  const search = parseSearch(text, 'Subscription.criteria');
  return { resourceType: search.resourceType, search };
}

/**
 * Whether a new version is an event of the subscription. previous is the
 * version before it (undefined for a creation), needed for a topic: only a
 * creation or a change of status triggers it.
 */
export function isEvent(criteria: Criteria, resource: Resource, previous: Resource | undefined): boolean {
  if (resource.resourceType !== criteria.resourceType) return false;
  if (criteria.topic) {
    const status = (resource as { status?: string }).status;
    const before = (previous as { status?: string } | undefined)?.status;
    if (previous && status === before) return false;
  }
  return matchesSearchRequest(resource, criteria.search);
}
