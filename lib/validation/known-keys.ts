import { messages } from '../errors/messages';

/** How many edits still make `key` a likely typo of a name. */
export function nearEnough(key: string): number {
  return key.length <= 3 ? 1 : Math.max(2, Math.floor(key.length / 3));
}

/** The name in `names` nearest to `key`, if it is near enough to be what was meant. */
function nearestName(key: string, names: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= nearEnough(key) && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * Refuses an options object with a key outside `known` (a misspelt option would otherwise be ignored), naming the
 * nearest known one: `Unknown option priorty: did you mean priority?`.
 */
export function refuseUnknownKeys(given: object, known: ReadonlySet<string>, what: string, toError: (message: string) => Error): void {
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw toError(messages.unknownOption(key, nearestName(key, known), what, [...known]));
  }
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
