import type { ResolvedModuleOptions } from '../pg-queue.options';
import { RESOLVED_OPTIONS } from '../pg-queue.tokens';
import type { QueueLogger } from '../services/queue-logger';
import { Inject, Injectable, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { JobHandlerMetadata } from '../decorators/job-handler.decorator';
import { HandlerMetadataAccessor } from './handler-metadata.accessor';
import type { JobEventListenerDefinition } from '../events/job-event-listener.definition';
import type { JobHandlerDefinition } from './job-handler.definition';

/** Finds @JobHandler and @OnJobEvent methods on the application's providers. Collects only; others validate. */
@Injectable()
export class HandlerExplorer {
  private readonly logger: QueueLogger;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: HandlerMetadataAccessor,
    private readonly moduleRef: ModuleRef,
    @Inject(RESOLVED_OPTIONS) options: ResolvedModuleOptions,
  ) {
    this.logger = options.logs.for('PgQueue');
  }

  explore(): JobHandlerDefinition[] {
    const handlers = this.scan<JobHandlerMetadata, JobHandlerDefinition>(
      (method) => this.metadata.handlerOf(method),
      (metadata, name, invoke) => ({ ...metadata, name, invoke: (payload, ctx) => invoke(payload, ctx) }),
    );
    this.warnAboutControllers();
    return handlers;
  }

  /** The @OnJobEvent methods, each called through DI as handlers are. */
  exploreListeners(): JobEventListenerDefinition[] {
    return this.scan(
      (method) => this.metadata.listenerOf(method),
      ({ events, options }, name, invoke) => ({ events, types: options.type, name, invoke: (event) => invoke(event) }),
    );
  }

  /** Every provider method that `read` finds metadata on, defined by `define` with a way to call it. */
  private scan<M, D>(read: (method: unknown) => M | undefined, define: (metadata: M, name: string, invoke: Invoke) => D): D[] {
    const found: D[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const isStatic = wrapper.isDependencyTreeStatic();
      // A request-scoped provider has no instance at bootstrap: its class prototype carries the metadata.
      const target = (isStatic ? wrapper.instance : wrapper.metatype?.prototype) as unknown;
      if (!target || typeof target !== 'object') continue;
      // The same instance can be listed by several modules; its methods are registered once.
      if (seen.has(target)) continue;
      seen.add(target);
      const prototype = (isStatic ? Object.getPrototypeOf(target) : target) as Methods;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata = read(prototype[method]);
        if (metadata === undefined) continue;
        const name = `${(prototype.constructor as Type).name}#${method}`;
        found.push(define(metadata, name, this.invoker(wrapper, method, name)));
      }
    }
    return found;
  }

  /** Controllers are not providers: a handler there would never run, so say so instead of skipping it silently. */
  private warnAboutControllers(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const prototype = wrapper.metatype?.prototype as Methods | undefined;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        if (this.metadata.handlerOf(prototype[method])) {
          this.logger.warn(
            `@JobHandler on controller method ${prototype.constructor.name}#${method} is ignored: put handlers on providers.`,
          );
        }
      }
    }
  }

  /** Calls `method` on the provider's instance, or for request-scoped providers on a fresh one each time. */
  private invoker(wrapper: InstanceWrapper, method: string, name: string): Invoke {
    if (wrapper.isDependencyTreeStatic()) {
      const instance = wrapper.instance as Methods;
      return async (...args) => instance[method](...args);
    }
    // Request-scoped (or depending on one): a fresh DI sub-tree per call, as Nest gives each request.
    this.logger.log(`${name} is on a request-scoped provider: a new instance is resolved for every call.`);
    return async (...args) => {
      const instance: Methods = await this.moduleRef.resolve(wrapper.token as Type, ContextIdFactory.create(), { strict: false });
      return instance[method](...args);
    };
  }
}

type Invoke = (...args: unknown[]) => Promise<unknown>;

/** A provider instance or prototype, seen as what the explorer reads of it: its methods by name. */
type Methods = Record<string, (...args: unknown[]) => unknown> & { constructor: { name: string } };
