export { AUDIT_GENESIS_HASH, type AuditProblem, auditEntryHash, verifyAuditChain } from './audit-chain.ts';
export type * from './campaign-store.ts';
export { REVIEW_VERDICTS } from './campaign-store.ts';
export {
  type CopyPhase,
  type CopyProgress,
  CopyRefusedError,
  type CopyStoreOptions,
  type CopyStoreResult,
  type CopyVerification,
  copyStore,
} from './copy-store.ts';
export * from './errors.ts';
export {
  decisionRecordOf,
  deriveLedgerRows,
  deriveRunLedger,
  eventLinksProblem,
  LEDGER_FIELDS,
  type LedgerFieldDifference,
  ledgerRowDifferences,
  type RunLedger,
  runChainProblem,
  unvouchedReason,
} from './ledger-chain.ts';
export { type IncompleteMark, markRunIncomplete } from './mark-run-incomplete.ts';
export { createMemoryStore } from './memory/memory-store.ts';
export {
  DEFAULT_STORE_PATH,
  isPostgresLocation,
  MEMORY_LOCATION,
  type MigrationReport,
  migrateStore,
  openStore,
  resolveStoreLocation,
} from './open-store.ts';
export { exportRun, importRun } from './portable-tape-io.ts';
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.ts';
export {
  openSqliteStore,
  type RunPackLimits,
  type SqliteDatabaseLike,
  type SqliteStatementLike,
  type SqliteStore,
  type SqliteStoreOptions,
} from './sqlite/sqlite-store.ts';
export type * from './store.ts';
export { type LedgerVerification, verifyLedger } from './verify-ledger.ts';
export { createVerifyContext, type RunVerification, type VerifyContext, type VerifyProblem, verifyRun, verifyStore } from './verify-store.ts';
export { isWriterAliveOnThisHost } from './writer-liveness.ts';
