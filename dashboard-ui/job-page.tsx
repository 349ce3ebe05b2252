import { useEffect, useState } from 'preact/hooks';
import { act, base, get, isReadOnly, type Job } from './api';
import { JsonBlock, StatusBadge, when } from './format';
import { navigate } from './router';

interface LogLine {
  at: string;
  attempt: number;
  message: string;
}

/** One job: its state, data, error and log lines, kept current by the job's event stream while it is unfinished. */
export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<Job>();
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [error, setError] = useState<string>();
  /** A new attempt (a retry) gets a new stream: the last one ended with the job. */
  const [attempt, setAttempt] = useState(0);

  const load = () =>
    get<{ job: Job; logs: LogLine[] }>(`jobs/${id}`).then(
      (data) => {
        setJob(data.job);
        setLogs(data.logs);
      },
      (e: Error) => setError(e.message),
    );

  useEffect(() => {
    void load();
    const stream = new EventSource(`${base}/api/jobs/${id}/stream`);
    stream.onmessage = (message: MessageEvent<string>) => setJob(JSON.parse(message.data) as Job);
    // The stream ends with the job: the last log lines are read once more then.
    stream.onerror = () => {
      stream.close();
      void load();
    };
    return () => stream.close();
  }, [id, attempt]);

  const action = async (name: 'retry' | 'cancel' | 'promote' | 'delete') => {
    try {
      if (name === 'delete') {
        if (!window.confirm(`Delete job #${id}?`)) return;
        await act('DELETE', `jobs/${id}`);
        return navigate('');
      }
      const { job: changed } = await act<{ job: Job }>('POST', `jobs/${id}/${name}`);
      setJob(changed);
      setError(undefined);
      if (name === 'retry') setAttempt((n) => n + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (!job)
    return (
      <section>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : (
          <p aria-busy="true">Loading…</p>
        )}
      </section>
    );
  const finished = job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
  return (
    <section aria-labelledby="job-title">
      <h1 id="job-title">
        Job #{job.id} <span class="type">{job.type}</span> <StatusBadge status={job.status} />
      </h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!isReadOnly() && (
        <div class="actions">
          {(job.status === 'failed' || job.status === 'cancelled') && (
            <button type="button" onClick={() => void action('retry')}>
              Retry
            </button>
          )}
          {!finished && (
            <button type="button" onClick={() => void action('cancel')}>
              Cancel
            </button>
          )}
          {job.status === 'pending' && (
            <button type="button" onClick={() => void action('promote')}>
              Promote
            </button>
          )}
          {job.status !== 'running' && (
            <button type="button" class="danger" onClick={() => void action('delete')}>
              Delete
            </button>
          )}
        </div>
      )}
      {(job.status === 'running' || job.progress > 0 || job.stage) && (
        <div class="progress" role="progressbar" aria-label="Progress" aria-valuenow={job.progress} aria-valuemin={0} aria-valuemax={100}>
          <div class="bar" style={{ width: `${job.progress}%` }} />
          <span class="label">
            {job.progress}%{job.stage ? ` · ${job.stage}` : ''}
          </span>
        </div>
      )}
      <dl class="facts">
        <dt>Attempts</dt>
        <dd>
          {job.attempts}
          {job.maxAttempts ? ` of ${job.maxAttempts}` : ''}
        </dd>
        <dt>Priority</dt>
        <dd>{job.priority}</dd>
        <dt>Serial queue</dt>
        <dd>{job.queue ?? '—'}</dd>
        <dt>Job key</dt>
        <dd>{job.jobKey ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{when(job.createdAt)}</dd>
        <dt>Run at</dt>
        <dd>{when(job.runAt)}</dd>
        <dt>Started</dt>
        <dd>{when(job.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(job.finishedAt)}</dd>
      </dl>
      {job.lastError && (
        <div class="block">
          <h2>Last error</h2>
          <pre class="error-text">{job.lastError}</pre>
        </div>
      )}
      <JsonBlock label="Payload" value={job.payload} />
      {job.status === 'completed' && <JsonBlock label="Result" value={job.result} />}
      <div class="block">
        <h2>Log</h2>
        {logs.length === 0 ? (
          <p class="muted">No lines stored.</p>
        ) : (
          <ol class="log">
            {logs.map((line) => (
              <li>
                <time>{when(line.at)}</time> <span class="attempt">#{line.attempt}</span> {line.message}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
