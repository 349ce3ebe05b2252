import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { PgQueueModuleOptions } from './interfaces';

export const {
  ConfigurableModuleClass: ConfigurablePgQueueModule,
  MODULE_OPTIONS_TOKEN: PGQUEUE_MODULE_OPTIONS,
  OPTIONS_TYPE: PGQUEUE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: PGQUEUE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<PgQueueModuleOptions>({ moduleName: 'PgQueue' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createPgQueueOptions')
  // Global by default, as TypeOrmModule.forRoot and BullModule.forRoot are: feature modules inject QueueService
  // without importing anything. `isGlobal: false` scopes it to the importing module.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** What `forRoot()` takes: the module options plus `isGlobal`. */
export type PgQueueForRootOptions = typeof PGQUEUE_OPTIONS_TYPE;
/** What `forRootAsync()` takes: `imports`, `inject`, `useFactory` | `useClass` | `useExisting`, `isGlobal`. */
export type PgQueueForRootAsyncOptions = typeof PGQUEUE_ASYNC_OPTIONS_TYPE;
