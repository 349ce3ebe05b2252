import { types, type CustomTypesConfig } from 'pg';

const TIMESTAMPTZ = 1184;
let lastText: string | undefined;
let lastParsed: Date | undefined;

/**
 * Type parsers for rows that mostly repeat one timestamp, as the rows of one insert do (`now()` is the statement's):
 * each distinct text is parsed once, and every row still gets a Date of its own.
 */
export const repeatedTimestamps: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ && format !== 'binary' ? parseRepeated : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

function parseRepeated(text: string): unknown {
  if (text === lastText && lastParsed) return new Date(lastParsed.getTime());
  const parsed: unknown = types.getTypeParser(TIMESTAMPTZ, 'text')(text);
  if (!(parsed instanceof Date)) return parsed; // an application's own parser for the type
  lastText = text;
  lastParsed = new Date(parsed.getTime());
  return parsed;
}
