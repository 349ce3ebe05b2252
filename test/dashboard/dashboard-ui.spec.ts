import { Injectable, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { JobHandler, PgQueueModule, QueueService, UnrecoverableJobError, type JobContext } from '../../lib';
import { PgQueueDashboardModule, type PgQueueDashboardOptions } from '../../lib/dashboard';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FAST_WORKER, gate, useQueueApps } from '../support/queue-app';

/** Debian's Chromium (`.ci/run` installs it): driven by playwright-core, nothing downloaded. */
const CHROMIUM = '/usr/bin/chromium';
const REPO = join(__dirname, '..', '..');
/** Set to write the README's screenshots into docs/images. */
const SCREENSHOTS = process.env.PGQUEUE_SCREENSHOTS === '1';

const fixed = new Set<string>();
let step = gate();
let finish = gate();

@Injectable()
class UiHandlers {
  @JobHandler('invoice.send', { maxAttempts: 1 })
  async send(payload: { invoice?: string }, ctx: JobContext) {
    ctx.log(`sending invoice ${payload.invoice ?? '?'}`);
    if (!fixed.has(ctx.job.id)) throw new UnrecoverableJobError('the invoice service said no');
    return { sent: true };
  }

  @JobHandler('report.render')
  async render(_: unknown, ctx: JobContext) {
    await ctx.progress(30, 'loading rows');
    await step.opened;
    await ctx.progress(70, 'rendering');
    await finish.opened;
    return { pages: 12 };
  }
}

describe('dashboard UI in Chromium', () => {
  const apps = useQueueApps({
    beforeClose: () => {
      step.open();
      finish.open();
    },
  });
  let db: TestDatabase;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing, and the dashboard's tests run in a real Chromium. ` +
          'Install it: `apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this when it is missing).',
      );
    if (!existsSync(join(REPO, 'dist', 'dashboard', 'ui', 'app.js'))) execFileSync('node', [join(REPO, 'dashboard-ui', 'build.mjs')]);
    db = await createTestDatabase();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await db?.close();
  });
  beforeEach(() => {
    fixed.clear();
    step = gate();
    finish = gate();
  });

  async function start(options: Partial<PgQueueDashboardOptions> = {}, fastify = false) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PgQueueModule.forRoot({ connectionString: db.url, schema: db.schema, worker: FAST_WORKER }),
        PgQueueDashboardModule.forRoot({ auth: (request) => String(request.headers.cookie ?? '').includes('user=ops'), ...options }),
      ],
      providers: [UiHandlers],
    }).compile();
    const app: INestApplication = fastify ? moduleRef.createNestApplication(new FastifyAdapter()) : moduleRef.createNestApplication();
    apps.defer(() => app.close());
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    return { url, queue: app.get(QueueService) };
  }

  /** A page signed in (the `user` cookie the test's auth accepts), in light or dark mode. */
  async function signedIn(url: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await browser.newContext({ colorScheme, viewport: { width: 1200, height: 800 } });
    apps.defer(() => context.close());
    await context.addCookies([{ name: 'user', value: 'ops', url }]);
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    return page;
  }

  it('refuses the page to a visitor that auth does not let in', async () => {
    const { url } = await start();
    const context = await browser.newContext();
    apps.defer(() => context.close());
    const response = await (await context.newPage()).goto(`${url}/queues`);
    expect(response?.status()).toBe(401);
  });

  it('lists job types, shows a failed job with its error and log, and retries it end to end', async () => {
    const { url, queue } = await start();
    const job = await queue.enqueue('invoice.send', { invoice: 'INV-7' });
    await queue.enqueue('report.render', {});
    const page = await signedIn(url);
    await page.goto(`${url}/queues`);
    await page
      .getByRole('row', { name: /invoice\.send/ })
      .first()
      .waitFor();
    await page.getByRole('img', { name: /^Last hour: \d+ completed, \d+ failed$/ }).waitFor();
    await page.getByRole('link', { name: `#${job.id}` }).click();
    await page.getByText('the invoice service said no').first().waitFor();
    await page.getByText('sending invoice INV-7').waitFor();
    if (SCREENSHOTS) await screenshots(page, url, job.id);

    fixed.add(job.id);
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('h1 .status-completed').waitFor();
    expect((await queue.getJob(job.id))?.status).toBe('completed');
  });

  it('updates progress and stage live, without a reload', async () => {
    const { url, queue } = await start();
    const job = await queue.enqueue('report.render', {});
    const page = await signedIn(url);
    await page.goto(`${url}/queues/jobs/${job.id}`);
    const bar = page.getByRole('progressbar', { name: 'Progress' });
    await page.locator('[role=progressbar][aria-valuenow="30"]').waitFor();
    await page.getByText('30% · loading rows').waitFor();
    step.open();
    await page.locator('[role=progressbar][aria-valuenow="70"]').waitFor();
    await page.getByText('70% · rendering').waitFor();
    finish.open();
    await page.locator('h1 .status-completed').waitFor();
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
  });

  it('shows markup in a payload as text and runs none of it', async () => {
    const { url, queue } = await start();
    const hostile = '<img src=x onerror=window.__pwned=1>';
    const job = await queue.enqueue('invoice.send', { invoice: hostile });
    const page = await signedIn(url);
    await page.goto(`${url}/queues/jobs/${job.id}`);
    await page.getByText(`sending invoice ${hostile}`).waitFor();
    await expect(page.locator('pre').filter({ hasText: hostile }).count()).resolves.toBeGreaterThan(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
  });

  it('read-only: no action buttons, and the server refuses an action sent from the page itself', async () => {
    const { url, queue } = await start({ readOnly: true });
    const job = await queue.enqueue('invoice.send', {});
    const page = await signedIn(url);
    await page.goto(`${url}/queues/jobs/${job.id}`);
    await page.getByText('the invoice service said no').first().waitFor();
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    const status = await page.evaluate(async (id) => {
      const session = (await (await fetch('/queues/api/session')).json()) as { csrfToken: string };
      const response = await fetch(`/queues/api/jobs/${id}/retry`, { method: 'POST', headers: { 'x-pgqueue-csrf': session.csrfToken } });
      return response.status;
    }, job.id);
    expect(status).toBe(403);
  });

  it('works on Fastify too, and goes to a job by its id', async () => {
    const { url, queue } = await start({}, true);
    const job = await queue.enqueue('invoice.send', {});
    const page = await signedIn(url);
    await page.goto(`${url}/queues`);
    await page.getByRole('link', { name: `#${job.id}` }).waitFor();
    // The id field goes straight to a job's page.
    await page.getByLabel('Id').fill(job.id);
    await page.getByLabel('Id').press('Enter');
    await page.getByRole('heading', { name: new RegExp(`Job #${job.id}`) }).waitFor();
  });

  /** The README's pictures: the overview (with an hour of traffic in its chart) and a job's page, light and dark. */
  async function screenshots(page: Page, url: string, id: string): Promise<void> {
    const dir = join(REPO, 'docs', 'images');
    mkdirSync(dir, { recursive: true });
    await db.query(
      `INSERT INTO ${db.schema}.throughput (type, minute, worker_id, completed, failed)
       SELECT 'invoice.send', date_trunc('minute', now()) - i * interval '1 minute', 'screenshot',
              (400 + 250 * sin(i / 7.0) + 60 * cos(i))::int, CASE WHEN i % 9 = 4 THEN 12 ELSE 0 END
         FROM generate_series(0, 59) i`,
    );
    for (const scheme of ['light', 'dark'] as const) {
      const shot = await signedIn(url, scheme);
      await shot.goto(`${url}/queues`);
      await shot.getByRole('link', { name: `#${id}` }).waitFor();
      await shot.screenshot({ path: join(dir, `dashboard-overview-${scheme}.png`), fullPage: true });
      await shot.goto(`${url}/queues/jobs/${id}`);
      await shot.getByText('the invoice service said no').first().waitFor();
      await shot.screenshot({ path: join(dir, `dashboard-job-${scheme}.png`), fullPage: true });
    }
    void page;
  }
});
