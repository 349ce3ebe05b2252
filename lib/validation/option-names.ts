import { messages } from '../errors/messages';
import { editDistance, nearEnough } from './known-keys';
import type { PgQueueModuleOptions, RetentionOptions, TelemetryOptions, WorkerOptions } from '../interfaces';

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
  telemetry: true,
  logger: true,
  logLevels: true,
  structuredLogs: true,
};
const WORKER_OPTIONS: OptionNames<WorkerOptions> = {
  enabled: true,
  concurrency: true,
  prefetch: true,
  leaseMs: true,
  pollIntervalMs: true,
  shutdownTimeoutMs: true,
  synchronousCommit: true,
  schedules: true,
};
const RETENTION_OPTIONS: OptionNames<RetentionOptions> = { completedMs: true, failedMs: true, cancelledMs: true, pruneIntervalMs: true };
const TELEMETRY_OPTIONS: OptionNames<TelemetryOptions> = { traces: true, metrics: true };
const OPTION_LEVELS: ReadonlyArray<[path: string, names: object]> = [
  ['', MODULE_OPTIONS],
  ['worker', WORKER_OPTIONS],
  ['retention', RETENTION_OPTIONS],
  ['telemetry', TELEMETRY_OPTIONS],
];

/**
 * One sentence per unknown key, at every level, all at once so they can be fixed in one go; each names the nearest
 * known option when one is near enough to be what was meant.
 */
export function unknownOptions(options: object, worker: object, retention: object, telemetry: object = {}): string[] {
  return [
    ...unknownAt('', options, MODULE_OPTIONS),
    ...unknownAt('worker', worker, WORKER_OPTIONS),
    ...unknownAt('retention', retention, RETENTION_OPTIONS),
    ...unknownAt('telemetry', telemetry, TELEMETRY_OPTIONS),
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
  const limit = nearEnough(key);
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

const pathOf = (path: string, key: string) => (path ? `${path}.${key}` : key);
