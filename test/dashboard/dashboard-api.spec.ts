import { Injectable, type INestApplication, type Provider } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { JobHandler, PgQueueConfigError, PgQueueModule, QueueService, UnrecoverableJobError, type JobContext } from '../../lib';
import { PgQueueDashboardModule, type PgQueueDashboardOptions } from '../../lib/dashboard';
import { createTestDatabase, waitFor, type TestDatabase } from '../support/database';
import { LogCapture } from '../support/log-capture';
import { FAST_WORKER, useQueueApps } from '../support/queue-app';

/** Fails until its payload says otherwise, so a retry from the dashboard can be seen to work. */
const fixed = new Set<string>();

@Injectable()
class DashboardHandlers {
  @JobHandler('dash.flaky', { maxAttempts: 1 })
  async flaky(payload: { secret?: string }, ctx: JobContext) {
    ctx.log('checking the invoice');
    await ctx.progress(40, 'halfway');
    if (!fixed.has(ctx.job.id)) throw new UnrecoverableJobError('the invoice service said no');
    return { ok: true };
  }
}

type Platform = 'express' | 'fastify';

interface Dashboard {
  url: string;
  queue: QueueService;
  /** fetch() on the dashboard, as the signed-in user (the `x-user` header the test's auth accepts). */
  call(path: string, init?: RequestInit & { anonymous?: boolean }): Promise<Response>;
  /** A session: the cookie and header every action must carry. */
  session(): Promise<{ cookie: string; token: string }>;
}

describe.each<Platform>(['express', 'fastify'])('dashboard API on %s', (platform) => {
  const apps = useQueueApps();
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  // Ids start at 1 in each platform's schema.
  beforeEach(() => fixed.clear());

  async function start(options: Partial<PgQueueDashboardOptions> = {}, providers: Provider[] = [DashboardHandlers]): Promise<Dashboard> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER }),
        PgQueueDashboardModule.forRoot({ auth: (request) => request.headers['x-user'] === 'ops', ...options }),
      ],
      providers,
    }).compile();
    const app: INestApplication =
      platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    apps.defer(() => app.close());
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const call: Dashboard['call'] = (path, init = {}) =>
      fetch(`${url}/queues/api/${path}`, {
        ...init,
        headers: { ...(init.anonymous ? {} : { 'x-user': 'ops' }), ...(init.headers as Record<string, string>) },
      });
    const session = async () => {
      const response = await call('session');
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
      const { csrfToken } = (await response.json()) as { csrfToken: string };
      expect(cookie).toBe(`pgqueue_csrf=${csrfToken}`);
      return { cookie, token: csrfToken };
    };
    return { url, queue: app.get(QueueService), call, session };
  }

  const post = (
    dashboard: Dashboard,
    path: string,
    auth: { cookie: string; token: string },
    headers: Record<string, string> = {},
    body?: unknown,
  ) =>
    dashboard.call(path, {
      method: 'POST',
      headers: { cookie: auth.cookie, 'x-pgqueue-csrf': auth.token, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body ?? {}),
    });

  async function failedJob(dashboard: Dashboard, payload: object = {}): Promise<string> {
    const { jobs } = (await (await dashboard.call('jobs?status=failed&type=dash.flaky&limit=1')).json()) as { jobs: Array<{ id: string }> };
    const before = jobs[0]?.id;
    const { id } = await dashboard.queue.enqueue('dash.flaky', payload);
    await waitFor(async () => {
      const response = await dashboard.call(`jobs/${id}`);
      return ((await response.json()) as { job: { status: string } }).job.status === 'failed';
    });
    expect(id).not.toBe(before);
    return id;
  }

  it('refuses requests that auth does not let in, with 401 and the security headers', async () => {
    const dashboard = await start();
    for (const path of ['overview', 'jobs', 'jobs/1', 'session']) {
      const response = await dashboard.call(path, { anonymous: true });
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
    const allowed = await dashboard.call('overview');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(allowed.headers.get('x-frame-options')).toBe('DENY');
  });

  it('lists types, jobs and one job with its error and stored log lines; bad queries get 400, unknown jobs 404', async () => {
    const dashboard = await start();
    const id = await failedJob(dashboard);
    const overview = (await (await dashboard.call('overview')).json()) as {
      types: Array<{ type: string; counts: Record<string, number> }>;
    };
    expect(overview.types.find((t) => t.type === 'dash.flaky')?.counts.failed).toBeGreaterThanOrEqual(1);

    const page = (await (await dashboard.call('jobs?status=failed,cancelled&type=dash.flaky&limit=5')).json()) as {
      jobs: Array<{ id: string; lastError: string }>;
      nextCursor: string | null;
    };
    expect(page.jobs[0]).toMatchObject({ id });
    expect(page.jobs[0].lastError).toContain('the invoice service said no');
    const count = (await (await dashboard.call('jobs/count?status=failed&type=dash.flaky')).json()) as { count: number };
    expect(count.count).toBeGreaterThanOrEqual(1);

    const detail = (await (await dashboard.call(`jobs/${id}`)).json()) as { job: { status: string }; logs: Array<{ message: string }> };
    expect(detail.job.status).toBe('failed');
    expect(detail.logs.map((line) => line.message)).toEqual(['checking the invoice']);

    expect((await dashboard.call('jobs?limit=5000')).status).toBe(400);
    expect((await dashboard.call('jobs?colour=red')).status).toBe(400);
    expect((await dashboard.call('jobs/999999999')).status).toBe(404);
    expect((await dashboard.call('jobs/not-an-id')).status).toBe(400);
  });

  it('retries a failed job end to end, with the session token; refuses actions without it or from another site', async () => {
    const dashboard = await start();
    const id = await failedJob(dashboard);
    const auth = await dashboard.session();
    expect(auth.token.length).toBeGreaterThan(20);
    // A second tab keeps the first one's token: its session call carries the cookie.
    const again = (await (await dashboard.call('session', { headers: { cookie: auth.cookie } })).json()) as { csrfToken: string };
    expect(again.csrfToken).toBe(auth.token);

    expect((await post(dashboard, `jobs/${id}/retry`, { cookie: '', token: '' })).status).toBe(403);
    expect((await post(dashboard, `jobs/${id}/retry`, { cookie: auth.cookie, token: 'forged' })).status).toBe(403);
    expect((await post(dashboard, `jobs/${id}/retry`, auth, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(dashboard, `jobs/${id}/retry`, auth, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(((await (await dashboard.call(`jobs/${id}`)).json()) as { job: { status: string } }).job.status).toBe('failed');

    fixed.add(id);
    const retried = await post(dashboard, `jobs/${id}/retry`, auth, { origin: new URL(dashboard.url).origin });
    expect(retried.status).toBe(200);
    await waitFor(
      async () => ((await (await dashboard.call(`jobs/${id}`)).json()) as { job: { status: string } }).job.status === 'completed',
    );
    // A job in a state the action does not apply to: 409, and it is left as it is.
    expect((await post(dashboard, `jobs/${id}/retry`, auth)).status).toBe(409);
  });

  it('enforces readOnly on the server: every action is 403', async () => {
    const dashboard = await start({ readOnly: true });
    const id = await failedJob(dashboard);
    const auth = await dashboard.session();
    expect(((await (await dashboard.call('session')).json()) as { readOnly: boolean }).readOnly).toBe(true);
    for (const [method, path] of [
      ['POST', `jobs/${id}/retry`],
      ['POST', `jobs/${id}/cancel`],
      ['POST', `jobs/${id}/promote`],
      ['DELETE', `jobs/${id}`],
      ['POST', 'jobs/retry'],
      ['POST', 'jobs/delete'],
      ['POST', 'types/dash.flaky/pause'],
    ]) {
      const json: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
      const response = await dashboard.call(path, {
        method,
        headers: { cookie: auth.cookie, 'x-pgqueue-csrf': auth.token, ...json },
        body: method === 'POST' ? JSON.stringify({ type: 'dash.flaky' }) : undefined,
      });
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
    }
    expect(((await (await dashboard.call(`jobs/${id}`)).json()) as { job: { status: string } }).job.status).toBe('failed');
  });

  it('acts in bulk on the filter it is given, and hides what redact and redactLog hide', async () => {
    const dashboard = await start({
      redact: (job) => ({ ...job, payload: '[hidden]' }),
      redactLog: (line) => line.replace('invoice', '[redacted]'),
    });
    const id = await failedJob(dashboard, { secret: 'hunter2' });
    const detail = await (await dashboard.call(`jobs/${id}`)).text();
    expect(detail).not.toContain('hunter2');
    expect(detail).toContain('[hidden]');
    expect(detail).toContain('checking the [redacted]');
    const auth = await dashboard.session();
    expect((await post(dashboard, 'jobs/delete', auth, {}, {})).status).toBe(400); // an empty filter reaches every job
    const removed = (await (await post(dashboard, 'jobs/delete', auth, {}, { type: 'dash.flaky', status: 'failed' })).json()) as {
      changed: number;
    };
    expect(removed.changed).toBeGreaterThanOrEqual(1);
    expect((await dashboard.call(`jobs/${id}`)).status).toBe(404);
  });

  it('streams a job’s snapshots as server-sent events', async () => {
    const dashboard = await start();
    const { id } = await dashboard.queue.enqueue('dash.flaky', {});
    const response = await dashboard.call(`jobs/${id}/stream`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('"status":"failed"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('"status":"failed"');
  });
});

describe('dashboard options', () => {
  it('requires auth, and warns when it is opted out of', async () => {
    expect(() => PgQueueDashboardModule.forRoot({} as PgQueueDashboardOptions)).toThrow(PgQueueConfigError);
    expect(() => PgQueueDashboardModule.forRoot({ auth: true } as never)).toThrow(/auth: true; expected a function/);
    expect(() => PgQueueDashboardModule.forRoot({ auth: 'none', path: 'queues' })).toThrow(/path/);
    expect(() => PgQueueDashboardModule.forRoot({ auth: 'none', readonly: true } as never)).toThrow(/did you mean readOnly/);
    const logs = new LogCapture();
    try {
      const moduleRef = await Test.createTestingModule({ imports: [PgQueueDashboardModule.forRoot({ auth: 'none' })] })
        .setLogger(logs)
        .compile();
      await moduleRef.init();
      expect(logs.matching("auth: 'none'", 'warn')).toHaveLength(1);
      await moduleRef.close();
    } finally {
      logs.restore();
    }
  });
});
