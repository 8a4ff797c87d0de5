import { createRequire } from 'node:module';
import type { z } from 'zod';

/** The `z` namespace of zod. */
export type Zod = typeof z;

let zod: Zod | undefined;

/**
 * zod, loaded on the first call. Loading it takes about 60 ms, more than the rest of
 * `import('retrial')`, and recording needs it only once a model call's wire body is parsed (a
 * service that imports retrial and records tools alone never does). A synchronous `require`,
 * because the tape's parsers are synchronous; every schema of ours goes through here, so the
 * process holds one copy of zod (the CommonJS build), never that and the ESM one.
 */
export function loadZod(): Zod {
  zod ??= (createRequire(import.meta.url)('zod') as { z: Zod }).z;
  return zod;
}

/**
 * A schema built on first use instead of when its module loads: `lazySchema((z) => z.object(...))`
 * returns a function that builds the schema once and then returns the same instance. Its type is
 * `z.infer<ReturnType<typeof mySchema>>`. Schemas that use others call them inside the builder.
 */
export function lazySchema<Schema>(build: (z: Zod) => Schema): () => Schema {
  let schema: Schema | undefined;
  return () => {
    schema ??= build(loadZod());
    return schema;
  };
}
