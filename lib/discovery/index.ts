export * from './handler-explorer';
export * from './handler-registry';
export * from './job-handler.definition';
