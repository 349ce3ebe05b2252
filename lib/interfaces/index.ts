export * from './module-options.interface';
export * from './job.interface';
export * from './handler-options.interface';
export * from './job-context.interface';
export * from './schedule.interface';
export * from './job-query.interface';
export * from './job-event.interface';
export * from './typed-jobs.interface';
