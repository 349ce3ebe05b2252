import { Injectable, Logger, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { JobHandlerMetadata } from '../decorators/job-handler.decorator';
import { HandlerMetadataAccessor } from './handler-metadata.accessor';
import type { JobHandlerDefinition } from './job-handler.definition';

/** Finds @JobHandler methods on the application's providers. Collects only; the registry validates. */
@Injectable()
export class HandlerExplorer {
  private readonly logger = new Logger('PgQueue');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly metadata: HandlerMetadataAccessor,
    private readonly moduleRef: ModuleRef,
  ) {}

  explore(): JobHandlerDefinition[] {
    const found: JobHandlerDefinition[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      const isStatic = wrapper.isDependencyTreeStatic();
      // A request-scoped provider has no instance at bootstrap: its class prototype carries the metadata.
      const target = (isStatic ? wrapper.instance : wrapper.metatype?.prototype) as unknown;
      if (!target || typeof target !== 'object') continue;
      // The same instance can be listed by several modules; its handlers are registered once.
      if (seen.has(target)) continue;
      seen.add(target);
      const prototype = (isStatic ? Object.getPrototypeOf(target) : target) as Methods;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const metadata = this.metadata.handlerOf(prototype[method]);
        if (metadata) found.push(this.define(wrapper, prototype.constructor as Type, method, metadata));
      }
    }
    this.warnAboutControllers();
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

  private define(wrapper: InstanceWrapper, metatype: Type, method: string, metadata: JobHandlerMetadata): JobHandlerDefinition {
    const name = `${metatype.name}#${method}`;
    if (wrapper.isDependencyTreeStatic()) {
      const instance = wrapper.instance as Methods;
      return { ...metadata, name, invoke: async (payload, ctx) => instance[method](payload, ctx) };
    }
    // Request-scoped (or depending on one): a fresh DI sub-tree per job, as Nest gives each request.
    this.logger.log(`${name} is on a request-scoped provider: a new instance is resolved for every job.`);
    return {
      ...metadata,
      name,
      invoke: async (payload, ctx) => {
        const instance: Methods = await this.moduleRef.resolve(wrapper.token as Type, ContextIdFactory.create(), { strict: false });
        return instance[method](payload, ctx);
      },
    };
  }
}

/** A provider instance or prototype, seen as what the explorer reads of it: its methods by name. */
type Methods = Record<string, (...args: unknown[]) => unknown> & { constructor: { name: string } };
