import { Injectable } from '@nestjs/common';
import { JobHandler, type JobContext } from 'nestjs-pgqueue';
import { ReportsRepository } from './reports.repository';

export interface ReportPayload {
  reportId: string;
  rows: number;
}

/** The job types of this app, for the compiler: enqueue() and @JobHandler() are checked against them. */
declare module 'nestjs-pgqueue' {
  interface PgQueueJobs {
    'report.generate': ReportPayload;
  }
  interface PgQueueJobResults {
    'report.generate': { url: string; rows: number };
  }
}

/** Job handlers are methods of ordinary providers: full DI, one method per job type. */
@Injectable()
export class ReportHandlers {
  constructor(private readonly reports: ReportsRepository) {}

  @JobHandler('report.generate', { maxAttempts: 5, timeoutMs: 60_000, concurrency: 2 })
  async generate(payload: ReportPayload, ctx: JobContext) {
    await ctx.progress(5, 'loading rows');
    const rows = await this.reports.load(payload.reportId, payload.rows, ctx.signal, (done) =>
      ctx.progress(5 + Math.round((done / payload.rows) * 75), 'loading rows'),
    );
    await ctx.progress(85, 'rendering');
    const url = await this.reports.render(payload.reportId, rows, ctx.signal);
    return { url, rows: rows.length };
  }
}
