/** @module The building blocks of the OpenAPI description (openapi.ts): operations, responses, parameters and bodies. */

export const problem = { $ref: '#/components/responses/Problem' };

/** One operation of a path. */
export interface Operation {
  summary: string;
  description?: string;
  parameters?: object[];
  requestBody?: object;
  responses: Record<string, object>;
}

/** An operation's responses: the successful ones (a description, or a whole response), then a problem+json for each error status. */
export const responses = (ok: Record<string, string | object>, ...errors: number[]): Record<string, object> => ({
  ...Object.fromEntries(Object.entries(ok).map(([status, r]) => [status, typeof r === 'string' ? { description: r } : r])),
  ...Object.fromEntries(errors.map((status) => [String(status), problem])),
});

/** An operation: its summary, then any description, parameters or body, then its responses. */
export const op = (summary: string, res: Record<string, object>, more: Omit<Operation, 'summary' | 'responses'> = {}): Operation => ({
  summary,
  ...more,
  responses: res,
});

/** A path parameter (all are strings). */
export const pathParam = (name = 'id') => ({ name, in: 'path', required: true, schema: { type: 'string' } });

/** A query parameter. */
export const query = (name: string, schema: object, description?: string) => ({
  name,
  in: 'query',
  schema,
  ...(description === undefined ? {} : { description }),
});

/** A required JSON body: an object with these properties, of which `required` must be there. */
export const jsonBody = (required: string[], properties: Record<string, object>) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', required, properties } } },
});

/** A JSON response described by a schema of the components. */
export const jsonResponse = (description: string, schema: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});

export const str = { type: 'string' };

/** Paths and their operations, by method. */
export type Paths = Record<string, Record<string, Operation>>;
