import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, base, startSession } from './api';
import { JobPage } from './job-page';
import { JobsView, OverviewView } from './lists';
import { navigate, route } from './router';

function App() {
  const [where, setWhere] = useState(route());
  const [session, setSession] = useState<{ readOnly: boolean } | ApiError | undefined>();
  useEffect(() => {
    const onPop = () => setWhere(route());
    addEventListener('popstate', onPop);
    startSession().then(setSession, (error: ApiError) => setSession(error));
    return () => removeEventListener('popstate', onPop);
  }, []);
  if (session instanceof ApiError)
    return (
      <main class="page">
        <p class="error">{session.message}</p>
      </main>
    );
  if (!session) return <main class="page" aria-busy="true" />;
  return (
    <main class="page">
      <header class="top">
        <a
          class="brand"
          href={base}
          onClick={(event) => {
            event.preventDefault();
            navigate('');
          }}
        >
          Queues
        </a>
        {session.readOnly && <span class="badge">read-only</span>}
      </header>
      {where.jobId ? (
        <JobPage id={where.jobId} />
      ) : (
        <>
          <OverviewView />
          <JobsView />
        </>
      )}
    </main>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
