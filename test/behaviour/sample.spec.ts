import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('npm run sample', () => {
  it('starts on a fresh machine (no DATABASE_URL: embedded PostgreSQL) and shows jobs running to completion with progress', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SAMPLE_EXIT_AFTER_DEMO: '1', PORT: '0', NO_COLOR: '1' };
    delete env.DATABASE_URL;
    const { stdout } = await run('npm', ['run', 'sample'], {
      cwd: join(__dirname, '..', '..'),
      env,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('starting an embedded PostgreSQL');
    for (const report of ['monthly-sales', 'ceo-dashboard', 'audit-log', 'weekly-kpis']) {
      expect(stdout).toMatch(new RegExp(`${report}\\s+\\[#+\\.+\\]\\s+\\d+% running\\s+loading rows`));
      expect(stdout).toMatch(new RegExp(`${report}\\s+\\[#{20}\\] 100% completed \\{"url":"https://reports.example.com/${report}.pdf`));
    }
    expect(stdout).toContain('All done');
    // Its /metrics answers as Prometheus scrapes it, with the queue's counters from the OpenTelemetry SDK.
    // A completion is counted once its write returns, which can be just after watch() saw it: 1 to 4 of them by now.
    expect(stdout).toMatch(/pgqueue_jobs_completed_total\{[^}]*messaging_destination_name="report\.generate"[^}]*\} [1-4]\b/);
    expect(stdout).toMatch(/pgqueue_jobs_enqueued_total\{[^}]*messaging_destination_name="report\.generate"[^}]*\} 4/);
  });
});
