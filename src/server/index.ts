export { applyCollectorItem, CollectorRejection, planWrite, type RunRefusal } from './apply-collector-items.ts';
export { collectorRequestSchema } from './collector-schema.ts';
export { type AppOptions, createApp, DEFAULT_MAX_BODY_BYTES } from './create-app.ts';
export { DEFAULT_SERVER_PORT, isLoopbackHost, type RunningServer, type ServerOptions, startServer } from './serve.ts';
