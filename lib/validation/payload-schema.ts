import { InvalidPayloadError } from '../errors';
import { messages } from '../errors/messages';
import type { StandardSchemaV1 } from '../interfaces';

/** One thing a schema found wrong with a payload: where (`items[2].sku`, or empty for the payload itself) and why. */
export interface PayloadIssue {
  path: string;
  message: string;
}

/** What a schema made of a payload: its output (zod's defaults and coercions applied), or what is wrong with it. */
export type PayloadCheck = { ok: true; value: unknown } | { ok: false; issues: PayloadIssue[] };

/** Runs a handler's `schema` on a payload. A schema that throws is a bug of the schema, and its error goes up as is. */
export async function checkPayload(schema: StandardSchemaV1, payload: unknown): Promise<PayloadCheck> {
  const result = await schema['~standard'].validate(payload);
  if (!result.issues) return { ok: true, value: result.value };
  return { ok: false, issues: result.issues.map((issue) => ({ path: pathText(issue.path), message: String(issue.message) })) };
}

/** The enqueue of a payload its type's schema refuses: one error naming every issue, before anything is written. */
export function invalidPayload(type: string, issues: PayloadIssue[]): InvalidPayloadError {
  return new InvalidPayloadError(messages.payloadRefusedBySchema(type, issues), issues);
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
