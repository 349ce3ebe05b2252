import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  Sse,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { map, type Observable } from 'rxjs';
import type { JobFilter, JobSnapshot } from '../interfaces';
import { QueueService } from '../queue.service';
import { DashboardActionGuard, DashboardAuthGuard } from './dashboard-guards';
import { DashboardErrors, SecurityHeaders, type HeaderSetter } from './dashboard-http';
import { DASHBOARD_OPTIONS, type DashboardRequest, type ResolvedDashboardOptions } from './dashboard-options';
import { toListQuery, type QueryString } from './dashboard-query';
import { cookieOf, CSRF_COOKIE, csrfCookie, newCsrfToken } from './dashboard-security';

/** The JSON API under `${path}/api`, built per path (forRoot): every route passes auth, every action the action guard. */
export function dashboardApiController(path: string): Type {
  @Controller(`${path.slice(1)}/api`)
  @UseGuards(DashboardAuthGuard)
  @UseInterceptors(SecurityHeaders)
  @UseFilters(DashboardErrors)
  class DashboardApiController {
    private queueService?: QueueService;

    constructor(
      private readonly moduleRef: ModuleRef,
      @Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    ) {}

    /** QueueService of the application's PgQueueModule, wherever it was imported. */
    private get queue(): QueueService {
      return (this.queueService ??= this.moduleRef.get(QueueService, { strict: false }));
    }

    /**
     * What the UI needs first: whether actions are allowed, and the token they must carry in the x-pgqueue-csrf header.
     * The same token goes in an HttpOnly cookie: another site can neither read this response nor set that cookie.
     */
    @Get('session')
    session(@Req() request: DashboardRequest, @Res({ passthrough: true }) response: HeaderSetter) {
      // The cookie's token when there is one: a second tab must not take the first one's away.
      const given = cookieOf(request, CSRF_COOKIE);
      const csrfToken = given !== undefined && /^[A-Za-z0-9_-]{32}$/.test(given) ? given : newCsrfToken();
      response.header('set-cookie', csrfCookie(csrfToken, this.options.path));
      return { readOnly: this.options.readOnly, csrfToken };
    }

    @Get('overview')
    async overview() {
      const [types, schedules, throughput] = await Promise.all([
        this.queue.stats({ timeoutMs: this.options.queryTimeoutMs }),
        this.queue.listSchedules(),
        this.queue.throughput(60),
      ]);
      // Schedules without their payloads: the overview shows when, not what (redact sees jobs, not schedules).
      return { types, schedules: schedules.map(({ payload: _payload, ...schedule }) => schedule), throughput };
    }

    @Get('jobs')
    async jobs(@Query() query: QueryString) {
      const page = await this.queue.listJobs(toListQuery(query), { timeoutMs: this.options.queryTimeoutMs });
      return { ...page, jobs: page.jobs.map((job) => this.options.redact(job)) };
    }

    @Get('jobs/count')
    async count(@Query() query: QueryString) {
      return { count: await this.queue.countJobs(toListQuery(query), { timeoutMs: this.options.queryTimeoutMs }) };
    }

    @Get('jobs/:id')
    async job(@Param('id') id: string) {
      const job = await this.found(this.queue.getJob(id));
      const logs = await this.queue.getJobLogs(id);
      return { job: this.options.redact(job), logs: logs.map((line) => ({ ...line, message: this.options.redactLog(line.message) })) };
    }

    /** Server-sent events: the job's snapshot on every change, until it ends. */
    @Sse('jobs/:id/stream')
    stream(@Param('id') id: string): Observable<{ data: JobSnapshot }> {
      return this.queue.watch(id).pipe(map((job) => ({ data: this.options.redact(job) })));
    }

    @Post('jobs/:id/retry')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async retry(@Param('id') id: string) {
      return { job: this.options.redact(await this.found(this.queue.retry(id))) };
    }

    @Post('jobs/:id/cancel')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async cancel(@Param('id') id: string) {
      return { job: this.options.redact(await this.found(this.queue.cancel(id))) };
    }

    @Post('jobs/:id/promote')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async promote(@Param('id') id: string) {
      return { job: this.options.redact(await this.found(this.queue.promote(id))) };
    }

    @Delete('jobs/:id')
    @UseGuards(DashboardActionGuard)
    async remove(@Param('id') id: string) {
      if (!(await this.queue.remove(id))) throw new NotFoundException(`No job ${id}.`);
      return { removed: true };
    }

    /** Bulk actions take the listing's filter as a JSON body and answer how many jobs changed. */
    @Post('jobs/retry')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async retryMany(@Body() filter: JobFilter) {
      return { changed: await this.queue.retryMany(filter ?? {}) };
    }

    @Post('jobs/cancel')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async cancelMany(@Body() filter: JobFilter) {
      return { changed: await this.queue.cancelMany(filter ?? {}) };
    }

    @Post('jobs/delete')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async removeMany(@Body() filter: JobFilter) {
      return { changed: await this.queue.removeMany(filter ?? {}) };
    }

    @Post('types/:type/pause')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async pause(@Param('type') type: string) {
      await this.queue.pause(type);
      return { type, paused: true };
    }

    @Post('types/:type/resume')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    async resume(@Param('type') type: string) {
      await this.queue.resume(type);
      return { type, paused: false };
    }

    private async found(job: Promise<JobSnapshot | null>): Promise<JobSnapshot> {
      const found = await job;
      if (!found) throw new NotFoundException('No such job.');
      return found;
    }
  }
  return DashboardApiController;
}
