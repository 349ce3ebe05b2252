import { types, type CustomTypesConfig } from 'pg';

const TIMESTAMPTZ = 1184;
/** Enough for the few distinct times of one statement's rows (their inserts' `now()`, the claim's own `now()`). */
const REMEMBERED = 8;
const parsedTexts = new Map<string, Date>();

/**
 * Type parsers for rows that mostly repeat a few timestamps, as the rows of one insert or one claim do (`now()` is
 * the statement's): each distinct text is parsed once, and every row still gets a Date of its own.
 */
export const repeatedTimestamps: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ && format !== 'binary'
      ? parseRepeated
      : (types.getTypeParser(oid, format) as (text: string) => unknown)) as CustomTypesConfig['getTypeParser'],
};

function parseRepeated(text: string): unknown {
  const known = parsedTexts.get(text);
  if (known) return new Date(known.getTime());
  const parsed: unknown = (types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => unknown)(text);
  if (!(parsed instanceof Date)) return parsed; // an application's own parser for the type
  if (parsedTexts.size >= REMEMBERED) parsedTexts.delete(parsedTexts.keys().next().value as string);
  parsedTexts.set(text, new Date(parsed.getTime()));
  return parsed;
}
