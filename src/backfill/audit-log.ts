// The audit chain's check lives with the store, whose verify vouches for corrections by it.
export { type AuditProblem, verifyAuditChain } from '../store/index.ts';
