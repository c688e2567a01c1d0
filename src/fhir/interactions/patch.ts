// patch with JSON Patch (http.html#patch, RFC 6902), applied by fast-json-patch.
import type { Resource } from '@medplum/fhirtypes';
import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import type { FhirHandler } from '../context';
import { allOk, badRequest, unsupportedMediaType, withIssues } from '../../base/outcomes';
import { checkId, parseIfMatch, requireIfMatch } from './resource-body';

export const JSON_PATCH = 'application/json-patch+json';

export const patchResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id] = request.segments;
  checkId(id);
  if (request.contentType !== JSON_PATCH) {
    throw unsupportedMediaType(`PATCH takes a JSON Patch document (${JSON_PATCH})`);
  }
  if (!Array.isArray(request.body)) throw badRequest('A JSON Patch document is an array of operations');
  requireIfMatch(resourceType, request.ifMatch);
  const current = await ctx.repo.read(resourceType, id);
  const ifMatch = parseIfMatch(request.ifMatch);
  let patched: Resource;
  try {
    const clone = structuredClone(current.resource) as Resource;
    patched = applyPatch(clone, request.body as Operation[], true, true, true).newDocument;
  } catch (err) {
    if (err instanceof JsonPatchError) {
      throw badRequest(`The JSON Patch cannot be applied: ${err.name} at operation ${err.index ?? 0}`);
    }
    throw err;
  }
  if (patched?.resourceType !== resourceType || patched.id !== id) {
    throw badRequest('A patch may not change the resourceType or id');
  }
  // Without If-Match the patch is still pinned to the version it was applied to (409 on a race).
  const { version, issues } = await ctx.repo.update(patched, { ifMatch: ifMatch ?? current.versionId, lockOnly: ifMatch === undefined });
  return [withIssues(allOk(), issues), version.resource];
};
