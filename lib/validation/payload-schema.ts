import { InvalidPayloadError } from '../errors';
import { messages } from '../errors/messages';
import type { StandardSchemaV1 } from '../interfaces';

/** One thing a schema found wrong with a payload: where (`items[2].sku`, or empty for the payload itself) and why. */
export interface PayloadIssue {
  path: string;
  message: string;
}

/**
 * Runs the `schema` of the handler of `type` on a payload, as the enqueue, the worker and QueueTester.run do: the
 * schema's output (zod's defaults and coercions applied), or an InvalidPayloadError naming every issue. A schema that
 * throws is a bug of the schema, and its error goes up as it is.
 */
export async function parsePayload(schema: StandardSchemaV1, type: string, payload: unknown): Promise<unknown> {
  const result = await schema['~standard'].validate(payload);
  if (!result.issues) return result.value;
  const issues: PayloadIssue[] = result.issues.map((issue) => ({ path: pathText(issue.path), message: String(issue.message) }));
  throw new InvalidPayloadError(messages.payloadRefusedBySchema(type, issues), issues);
}

/** A handler's `schema` must be a Standard Schema v1 object: checked at bootstrap. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as Partial<StandardSchemaV1> | null)?.['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}

function pathText(path: StandardSchemaV1.Issue['path']): string {
  let text = '';
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    text += typeof key === 'number' ? `[${key}]` : `${text ? '.' : ''}${String(key)}`;
  }
  return text;
}
