// read and vread (http.html#read, #vread).
import type { FhirHandler } from '../context';
import { allOk } from '../../base/outcomes';
import { checkId } from './resource-body';

export const readResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id] = request.segments;
  checkId(id);
  const current = request.checkedCurrent ?? (await ctx.repo.read(resourceType, id));
  return [allOk(), current.resource];
};

export const vreadResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id, , versionId] = request.segments;
  checkId(id);
  return [allOk(), (await ctx.repo.vread(resourceType, id, versionId)).resource];
};
