// A plain CommonJS NestJS 11 app, run by test/compat/module-systems.spec.ts from a throw-away
// project (`nest11-cjs/main.js`, package.json without "type") whose node_modules/nestjs-pgqueue is
// a copy of the built package. @nestjs/*, pg, rxjs and reflect-metadata resolve upward to the
// repository's node_modules (Nest 11). No build step: decorators are applied by calling them.
'use strict';
require('reflect-metadata');
const { createRequire } = require('node:module');

const watchdog = setTimeout(() => fail(new Error('app did not finish within 40 s')), 40_000);
watchdog.unref();

const { Inject, Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { PgQueueModule, QueueService, JobHandler } = require('nestjs-pgqueue');

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

/** Where a module resolves from the app, and from the library's own location. */
function resolution(specifier) {
  const libraryRequire = createRequire(require.resolve('nestjs-pgqueue'));
  return { fromApp: require.resolve(specifier), fromLibrary: libraryRequire.resolve(specifier) };
}

async function main() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  let job;
  try {
    const queue = app.get(QueueService);
    const enqueued = await queue.enqueue('compat.job', { n: 21 });
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
        moduleSystem: typeof module === 'object' && typeof require === 'function' ? 'commonjs' : 'unknown',
        nestCoreVersion: require('@nestjs/core/package.json').version,
        nestCommonVersion: require('@nestjs/common/package.json').version,
        resolved: { '@nestjs/core': resolution('@nestjs/core'), '@nestjs/common': resolution('@nestjs/common') },
        exports: { PgQueueModule: typeof PgQueueModule, QueueService: typeof QueueService, JobHandler: typeof JobHandler },
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
