import { Body, Controller, Delete, Get, NotFoundException, Param, Post, Sse, type MessageEvent } from '@nestjs/common';
import { QueueService, type JobSnapshot } from 'nestjs-pgqueue';
import { map, type Observable } from 'rxjs';
import type { ReportPayload } from './report.handlers';

@Controller('reports')
export class ReportsController {
  constructor(private readonly queue: QueueService) {}

  /** POST /reports {"reportId":"q3","rows":20,"priority":150} enqueues a report job. */
  @Post()
  async create(@Body() body: Partial<ReportPayload> & { priority?: number }) {
    const job = await this.queue.enqueue(
      'report.generate',
      { reportId: String(body.reportId ?? 'adhoc'), rows: Number(body.rows ?? 20) },
      { priority: body.priority },
    );
    return { id: job.id, status: job.status, watch: `/reports/${job.id}/events` };
  }

  /** GET /reports/:id returns the job: status, progress, stage, result. */
  @Get(':id')
  async get(@Param('id') id: string): Promise<JobSnapshot> {
    const job = await this.queue.getJob(id);
    if (!job) throw new NotFoundException(`no job ${id}`);
    return job;
  }

  /** GET /reports/:id/events streams progress and state as server-sent events until the job ends. */
  @Sse(':id/events')
  events(@Param('id') id: string): Observable<MessageEvent> {
    return this.queue
      .watch(id)
      .pipe(map((job) => ({ data: { status: job.status, progress: job.progress, stage: job.stage, result: job.result } })));
  }

  /** DELETE /reports/:id cancels the job (a running handler sees ctx.signal abort). */
  @Delete(':id')
  cancel(@Param('id') id: string) {
    return this.queue.cancel(id);
  }
}
