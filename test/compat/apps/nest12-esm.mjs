// An ES module NestJS 12 app, run by test/compat/module-systems.spec.ts from a throw-away project
// (`nest12-esm/main.js`, package.json "type": "module") whose node_modules holds COPIES of the
// ESM-only @nestjs/common and @nestjs/core 12 and of the built (CommonJS) nestjs-pgqueue.
// pg, rxjs and reflect-metadata resolve upward to the repository's node_modules.
// No build step: decorators are applied by calling them.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
// Named imports from a CommonJS package: they link only if Node's cjs-module-lexer finds them.
import { PgQueueModule, QueueService, JobHandler } from 'nestjs-pgqueue';
// A subpath entry point of the same package, through its "exports" map.
import { QueueTester } from 'nestjs-pgqueue/testing';

const watchdog = setTimeout(() => fail(new Error('app did not finish within 40 s')), 40_000);
watchdog.unref();

const require = createRequire(import.meta.url);

class Handlers {
  constructor(queue) {
    this.queue = queue;
  }

  async run(payload, ctx) {
    await ctx.progress(50, 'halfway');
    return { doubled: payload.n * 2, attempt: ctx.job.attempt, queueInjected: this.queue instanceof QueueService };
  }
}
Inject(QueueService)(Handlers, undefined, 0);
Injectable()(Handlers);
JobHandler('compat.job')(Handlers.prototype, 'run', Object.getOwnPropertyDescriptor(Handlers.prototype, 'run'));

class AppModule {}
Module({
  imports: [
    PgQueueModule.forRoot({
      connectionString: process.env.DATABASE_URL,
      schema: process.env.SCHEMA,
      worker: { pollIntervalMs: 100 },
    }),
  ],
  providers: [Handlers],
})(AppModule);

/** Where a module resolves from the app (ESM resolution), and from the library's own location (require). */
function resolution(specifier) {
  const libraryRequire = createRequire(require.resolve('nestjs-pgqueue'));
  return { fromApp: fileURLToPath(import.meta.resolve(specifier)), fromLibrary: libraryRequire.resolve(specifier) };
}

async function main() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  let job;
  let drained;
  try {
    const queue = app.get(QueueService);
    const enqueued = await queue.enqueue('compat.job', { n: 21 });
    drained = (await QueueTester.from(app).drain({ timeoutMs: 20_000 })).completed.map((done) => done.id);
    const deadline = Date.now() + 20_000;
    for (;;) {
      job = await queue.getJob(enqueued.id);
      if (['completed', 'failed', 'cancelled'].includes(job.status) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await app.close();
  }
  console.log(
    'COMPAT_RESULT ' +
      JSON.stringify({
        moduleSystem: typeof module === 'undefined' && typeof import.meta.url === 'string' ? 'esm' : 'unknown',
        nestCoreVersion: require('@nestjs/core/package.json').version,
        nestCommonVersion: require('@nestjs/common/package.json').version,
        resolved: { '@nestjs/core': resolution('@nestjs/core'), '@nestjs/common': resolution('@nestjs/common') },
        exports: { PgQueueModule: typeof PgQueueModule, QueueService: typeof QueueService, JobHandler: typeof JobHandler },
        testing: { QueueTester: typeof QueueTester, drained },
        job: { status: job.status, result: job.result, lastError: job.lastError },
      }),
  );
  // Exits on its own: anything still holding the event loop after app.close() trips the watchdog.
}

function fail(error) {
  console.error(error && error.stack ? error.stack : String(error));
  console.error('active resources:', process.getActiveResourcesInfo().join(', '));
  process.exit(1);
}

main().catch(fail);
