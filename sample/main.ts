import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { QueueService } from 'nestjs-pgqueue';
import { resolveDatabaseUrl } from './database';
import './metrics/prometheus';

async function main() {
  const database = await resolveDatabaseUrl();
  process.env.DATABASE_URL = database.url;
  // Imported after DATABASE_URL is known: the module reads it when it is defined.
  const { AppModule } = await import('./app.module');
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
  // Without this, SIGTERM/SIGINT never reach the queue's drain: running jobs would be cut off.
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;

  const queue = app.get(QueueService);
  const jobs = await Promise.all([
    queue.enqueue('report.generate', { reportId: 'monthly-sales', rows: 25 }, { priority: 100 }),
    queue.enqueue('report.generate', { reportId: 'ceo-dashboard', rows: 15 }, { priority: 500 }),
    queue.enqueue('report.generate', { reportId: 'audit-log', rows: 35 }, { priority: 10 }),
    queue.enqueue('report.generate', { reportId: 'weekly-kpis', rows: 10 }, { delayMs: 1500 }),
  ]);
  console.log(`\nEnqueued ${jobs.length} report jobs; 2 run at a time (handler concurrency), highest priority first:\n`);

  await Promise.all(
    jobs.map(
      (job) =>
        new Promise<void>((resolve, reject) =>
          queue.watch(job.id).subscribe({
            next: (snap) => {
              const name = (snap.payload as { reportId: string }).reportId.padEnd(14);
              const bar = '#'.repeat(Math.round(snap.progress / 5)).padEnd(20, '.');
              const detail = snap.status === 'completed' ? JSON.stringify(snap.result) : (snap.stage ?? '');
              console.log(
                `  job ${snap.id.padStart(3)} ${name} [${bar}] ${String(snap.progress).padStart(3)}% ${snap.status.padEnd(9)} ${detail}`,
              );
            },
            complete: resolve,
            error: reject,
          }),
        ),
    ),
  );

  console.log(`\nAll done. The HTTP API is at http://127.0.0.1:${port}:`);
  console.log(`  curl -XPOST localhost:${port}/reports -H 'content-type: application/json' -d '{"reportId":"q3","rows":30}'`);
  console.log(`  curl localhost:${port}/reports/1`);
  console.log(`  curl -N localhost:${port}/reports/5/events     (server-sent progress events)`);
  console.log(`  curl localhost:${port}/metrics                 (the queue's metrics, for Prometheus), for example:`);
  const scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of scraped.split('\n').filter((line) => /^pgqueue_jobs_(enqueued|completed)_total\{/.test(line)))
    console.log(`    ${line}`);
  console.log('Ctrl+C stops it (the queue drains first).');

  if (process.env.SAMPLE_EXIT_AFTER_DEMO) {
    await app.close();
    await database.stop();
    return;
  }
  process.once('SIGINT', () => void database.stop());
  process.once('SIGTERM', () => void database.stop());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
