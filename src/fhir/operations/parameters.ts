// Operation input, taken the same way from GET query parameters and from a
// POST Parameters body (operations.html#request), and Parameters output.
import type { CodeableConcept, Coding, Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../../base/outcomes';
import type { FhirRequest } from '../request';

export class OperationInput {
  private constructor(private readonly params: ParametersParameter[]) {}

  static from(request: FhirRequest): OperationInput {
    const params: ParametersParameter[] = [];
    for (const [name, values] of Object.entries(request.query)) for (const value of values) params.push({ name, valueString: value });
    const body = request.body as Resource | undefined;
    if (request.method === 'POST' && body && Object.keys(body).length > 0) {
      if (body.resourceType !== 'Parameters') throw badRequest('POST to an operation takes a Parameters resource');
      params.push(...((body as Parameters).parameter ?? []));
    }
    return new OperationInput(params);
  }

  private find(name: string): ParametersParameter | undefined {
    return this.params.find((p) => p.name === name);
  }

  /** A primitive parameter, whatever value[x] type the client used. */
  string(name: string): string | undefined {
    const p = this.find(name);
    if (!p) return undefined;
    const value = p.valueString ?? p.valueCode ?? p.valueUri ?? p.valueUrl ?? p.valueCanonical ?? p.valueId;
    if (value !== undefined) return value;
    if (p.valueInteger !== undefined) return String(p.valueInteger);
    if (p.valueBoolean !== undefined) return String(p.valueBoolean);
    throw badRequest(`Parameter ${name} must have a primitive value`, [name]);
  }

  integer(name: string, min: number, max: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw badRequest(`Parameter ${name} must be a whole number from ${min} to ${max}`, [name]);
    }
    return Number(text);
  }

  boolean(name: string): boolean | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (text !== 'true' && text !== 'false') throw badRequest(`Parameter ${name} must be true or false`, [name]);
    return text === 'true';
  }

  coding(name: string): Coding | undefined {
    return this.find(name)?.valueCoding;
  }

  codeableConcept(name: string): CodeableConcept | undefined {
    return this.find(name)?.valueCodeableConcept;
  }

  resource<T extends Resource>(name: string): T | undefined {
    return this.find(name)?.resource as T | undefined;
  }
}

export function parameters(parameter: ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter };
}
