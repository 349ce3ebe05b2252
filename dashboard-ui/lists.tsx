import { useCallback, useEffect, useState } from 'preact/hooks';
import { act, base, get, isReadOnly, query, type Job, type Schedule, type TypeStats } from './api';
import { ThroughputChart, type MinuteCounts } from './chart';
import { duration, StatusBadge, when } from './format';
import { navigate } from './router';

const STATUSES: Array<Job['status']> = ['pending', 'running', 'completed', 'failed', 'cancelled'];
const APPLIES_TO: Record<'retry' | 'cancel' | 'delete', Array<Job['status']>> = {
  retry: ['failed', 'cancelled'],
  cancel: ['pending', 'running'],
  delete: ['pending', 'completed', 'failed', 'cancelled'],
};

/** Every job type with its counts, lag and last minute, and the schedules; refreshed every few seconds. */
export function OverviewView() {
  const [data, setData] = useState<Overview>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => get<Overview>('overview').then(setData, (e: Error) => setError(e.message)), []);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [load]);
  const toggle = async (type: TypeStats) => {
    await act('POST', `types/${encodeURIComponent(type.type)}/${type.paused ? 'resume' : 'pause'}`).catch((e: Error) =>
      setError(e.message),
    );
    await load();
  };
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Job types</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ThroughputChart minutes={perMinute(data?.throughput ?? [])} />
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Type</th>
              {STATUSES.map((status) => (
                <th scope="col" class="num">
                  {status}
                </th>
              ))}
              <th scope="col" class="num">
                Lag
              </th>
              <th scope="col" class="num">
                Last minute
              </th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {(data?.types ?? []).map((type) => (
              <tr key={type.type}>
                <th scope="row">
                  {type.type} {type.paused && <span class="badge">paused</span>}
                </th>
                {STATUSES.map((status) => (
                  <td class="num">{(type.counts[status] ?? 0).toLocaleString()}</td>
                ))}
                <td class="num">{duration(type.lagMs)}</td>
                <td class="num">
                  {type.completedLastMinute} done ·{' '}
                  <span class={type.failedLastMinute > 0 ? 'failed-count' : ''}>{type.failedLastMinute} failed</span>
                </td>
                <td>
                  {!isReadOnly() && (
                    <button type="button" onClick={() => void toggle(type)}>
                      {type.paused ? 'Resume' : 'Pause'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {data && data.types.length === 0 && (
              <tr>
                <td colSpan={9}>No jobs yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {data && data.schedules.length > 0 && (
        <>
          <h2>Schedules</h2>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Cron</th>
                  <th scope="col">Type</th>
                  <th scope="col">Next run</th>
                </tr>
              </thead>
              <tbody>
                {data.schedules.map((schedule) => (
                  <tr key={schedule.name}>
                    <th scope="row">{schedule.name}</th>
                    <td>
                      <code>{schedule.cron}</code>
                    </td>
                    <td>{schedule.type}</td>
                    <td>{when(schedule.nextRunAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

interface Overview {
  types: TypeStats[];
  schedules: Schedule[];
  throughput: Array<{ minute: string; completed: number; failed: number }>;
}

/** Every type's counts added up per minute. */
function perMinute(points: Overview['throughput']): MinuteCounts[] {
  const sums = new Map<number, MinuteCounts>();
  for (const point of points) {
    const minute = new Date(point.minute).getTime();
    const sum = sums.get(minute) ?? { minute, completed: 0, failed: 0 };
    sum.completed += point.completed;
    sum.failed += point.failed;
    sums.set(minute, sum);
  }
  return [...sums.values()];
}

interface Filter {
  status?: string;
  type?: string;
  queue?: string;
  jobKey?: string;
}

/** Jobs newest first, filtered, a page at a time; actions on everything the filter matches. */
export function JobsView() {
  const [filter, setFilter] = useState<Filter>({});
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const load = useCallback(
    async (more = false) => {
      try {
        const page = await get<{ jobs: Job[]; nextCursor: string | null }>(
          `jobs?${query({ ...filter, limit: '50', cursor: more ? (cursor ?? undefined) : undefined })}`,
        );
        setJobs((shown) => (more ? [...shown, ...page.jobs] : page.jobs));
        setCursor(page.nextCursor);
        setError(undefined);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    [filter, cursor],
  );
  useEffect(() => void load(false), [filter]);

  const bulk = async (action: 'retry' | 'cancel' | 'delete') => {
    // Count what the action applies to: a retry takes failed and cancelled jobs, a cancel pending and running ones.
    const statuses = filter.status ? [filter.status] : APPLIES_TO[action];
    const applicable = statuses.filter((status) => APPLIES_TO[action].includes(status as Job['status']));
    if (applicable.length === 0) return setError(`${action} does not apply to ${filter.status} jobs.`);
    const { count } = await get<{ count: number }>(`jobs/count?${query({ ...filter, status: applicable.join(',') })}`);
    if (!window.confirm(`${action[0].toUpperCase()}${action.slice(1)} ${count.toLocaleString()} job(s) matching this filter?`)) return;
    try {
      const { changed } = await act<{ changed: number }>('POST', `jobs/${action}`, { ...cleaned(filter) });
      setNotice(`${changed.toLocaleString()} job(s) changed.`);
    } catch (e) {
      setError((e as Error).message);
    }
    await load(false);
  };

  const field = (name: keyof Filter, label: string) => (
    <label>
      {label}
      <input
        value={filter[name] ?? ''}
        onChange={(event) => setFilter({ ...filter, [name]: (event.target as HTMLInputElement).value || undefined })}
      />
    </label>
  );

  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select
            value={filter.status ?? ''}
            onChange={(event) => setFilter({ ...filter, status: (event.target as HTMLSelectElement).value || undefined })}
          >
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option value={status}>{status}</option>
            ))}
          </select>
        </label>
        <label>
          Id
          <input
            inputMode="numeric"
            placeholder="go to job"
            onChange={(event) => {
              const id = (event.target as HTMLInputElement).value.trim().replace(/^#/, '');
              if (/^[1-9][0-9]*$/.test(id)) navigate(`/jobs/${id}`);
            }}
          />
        </label>
        {field('type', 'Type')}
        {field('queue', 'Serial queue')}
        {field('jobKey', 'Job key')}
        {!isReadOnly() && Object.values(filter).some(Boolean) && (
          <span class="bulk">
            <button type="button" onClick={() => void bulk('retry')}>
              Retry all
            </button>
            <button type="button" onClick={() => void bulk('cancel')}>
              Cancel all
            </button>
            <button type="button" class="danger" onClick={() => void bulk('delete')}>
              Delete all
            </button>
          </span>
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th scope="col" class="num">
                Id
              </th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Created</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id}>
                <td class="num">
                  <a
                    href={`${base}/jobs/${job.id}`}
                    onClick={(event) => {
                      event.preventDefault();
                      navigate(`/jobs/${job.id}`);
                    }}
                  >
                    #{job.id}
                  </a>
                </td>
                <td>{job.type}</td>
                <td>
                  <StatusBadge status={job.status} />
                </td>
                <td class="num">
                  {job.attempts}
                  {job.maxAttempts ? ` / ${job.maxAttempts}` : ''}
                </td>
                <td>{when(job.createdAt)}</td>
                <td class="clip">{job.lastError?.split('\n', 1)[0] ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cursor && (
        <button type="button" onClick={() => void load(true)}>
          Load more
        </button>
      )}
    </section>
  );
}

function cleaned(filter: Filter): Filter {
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value)) as Filter;
}
