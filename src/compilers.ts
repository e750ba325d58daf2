/**
 * Schema compilers that keep compiling off the start-up path. Fastify compiles a validator per
 * route and part and a serializer per route and status code before it listens: with TypeBox and
 * fast-json-stringify, more than half of the CPU of a start once the code is bundled. Here each
 * is compiled when first used, or by `compileRemaining()` in the idle time after the server
 * listens, whichever comes first. Serializers are also shared between identical schemas (every
 * route answers its errors with the same shapes).
 */
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { strictValidatorCompiler } from './strict-scalars.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Compiles every route schema not compiled yet (a broken one rejects); done by itself after listen. */
    compileSchemas(): Promise<void>;
  }
}

export interface DeferredCompilers {
  validatorCompiler: typeof strictValidatorCompiler;
  buildSerializer: ReturnType<typeof SerializerSelector>;
  /** Compiles what is still deferred, one schema per turn of the event loop, so requests go first. */
  compileRemaining: () => Promise<void>;
}

/** One set per Fastify instance. */
export function deferredCompilers(): DeferredCompilers {
  const pending = new Set<() => unknown>();
  function deferred<F extends (...args: never[]) => unknown>(compile: () => F): F {
    let compiled: F | undefined;
    const force = () => (compiled ??= (pending.delete(force), compile()));
    pending.add(force);
    return ((...args: Parameters<F>) => force()(...args)) as F;
  }
  const serializers = SerializerSelector();

  return {
    validatorCompiler: (route) => deferred(() => strictValidatorCompiler(route)),
    buildSerializer: (externalSchemas, options) => {
      const compile = serializers(externalSchemas, options);
      const bySchema = new Map<string, ReturnType<typeof compile>>();
      return (route) => {
        const key = JSON.stringify(route.schema);
        let serializer = bySchema.get(key);
        if (!serializer) bySchema.set(key, (serializer = deferred(() => compile(route))));
        return serializer;
      };
    },
    compileRemaining: async () => {
      for (const force of pending) {
        await new Promise((resolve) => setImmediate(resolve));
        force();
      }
    },
  };
}
