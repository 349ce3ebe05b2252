import { messages } from '../errors/messages';
import type { PgQueueModuleOptions, RetentionOptions, WorkerOptions } from '../interfaces';

/**
 * Every option name, one list per level: any other key fails the bootstrap, since a misspelt option would otherwise
 * silently keep its default. Typed against the interfaces, so an option added there and not here does not compile.
 */
type OptionNames<T> = { readonly [K in keyof Required<T>]: true };
const MODULE_OPTIONS: OptionNames<PgQueueModuleOptions> = {
  connectionString: true,
  pool: true,
  pooler: true,
  listenConnectionString: true,
  schema: true,
  migrate: true,
  maxPayloadBytes: true,
  preparedStatements: true,
  queryTimeoutMs: true,
  connectTimeoutMs: true,
  worker: true,
  retention: true,
};
const WORKER_OPTIONS: OptionNames<WorkerOptions> = {
  enabled: true,
  concurrency: true,
  prefetch: true,
  leaseMs: true,
  pollIntervalMs: true,
  shutdownTimeoutMs: true,
};
const RETENTION_OPTIONS: OptionNames<RetentionOptions> = { completedMs: true, failedMs: true, cancelledMs: true, pruneIntervalMs: true };
const OPTION_LEVELS: ReadonlyArray<[path: string, names: object]> = [
  ['', MODULE_OPTIONS],
  ['worker', WORKER_OPTIONS],
  ['retention', RETENTION_OPTIONS],
];

/**
 * One sentence per unknown key, at every level, all at once so they can be fixed in one go; each names the nearest
 * known option when one is near enough to be what was meant.
 */
export function unknownOptions(options: object, worker: object, retention: object): string[] {
  return [
    ...unknownAt('', options, MODULE_OPTIONS),
    ...unknownAt('worker', worker, WORKER_OPTIONS),
    ...unknownAt('retention', retention, RETENTION_OPTIONS),
  ];
}

/** One sentence per key of `given` that is not an option at `path`; all of them at once, to fix them in one go. */
function unknownAt(path: string, given: object, known: object): string[] {
  return Object.keys(given)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) =>
      // forRoot() takes isGlobal out of the options; a factory of forRootAsync() that returns it has it in the wrong place.
      path === '' && key === 'isGlobal'
        ? messages.isGlobalInOptions()
        : messages.unknownOption(pathOf(path, key), closestOption(key, path), path || 'PgQueueModule', Object.keys(known)),
    );
}

/** The known option whose name is nearest to `key`, at any level, if it is near enough to be what was meant. */
function closestOption(key: string, path: string): string | undefined {
  const limit = key.length <= 3 ? 1 : Math.max(2, Math.floor(key.length / 3));
  let best: { option: string; distance: number } | undefined;
  // The key's own level comes first, so it wins a tie.
  const levels = [...OPTION_LEVELS.filter(([level]) => level === path), ...OPTION_LEVELS.filter(([level]) => level !== path)];
  for (const [level, names] of levels) {
    for (const name of Object.keys(names)) {
      const distance = editDistance(key.toLowerCase(), name.toLowerCase());
      if (distance <= limit && (!best || distance < best.distance)) best = { option: pathOf(level, name), distance };
    }
  }
  return best?.option;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
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

const pathOf = (path: string, key: string) => (path ? `${path}.${key}` : key);
