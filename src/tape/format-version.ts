/**
 * The tape format's version. Readers accept any tape whose major equals ours, ignore event kinds
 * and fields they do not know, and refuse an unknown major with a TapeFormatError.
 */
export const TAPE_FORMAT_VERSION = 1 as const;
export type TapeFormatVersion = typeof TAPE_FORMAT_VERSION;

/**
 * Numbered recorder behaviours that affect replay. A tape lists the flags that were on when it
 * was recorded; replay turns on exactly those, so old tapes keep replaying after a change.
 */
export const RecorderFlag = {
  /** Random draws come from per-call-site streams seeded by (run seed, "v1", site name). */
  NamedRandomStreams: 1,
  /** Tool and retrieval bodies run with clock and random reads unrecorded (their result is recorded). */
  OpaqueToolBodies: 2,
  /**
   * Model, tool and retrieval events give where the call started (`startedAfter`) when other
   * events came between its start and its end; absent, it started right before its own seq.
   */
  CallStartOrder: 3,
  /**
   * Keys name nothing of the recording machine: a random read's site is `<function>` or
   * `<package>#<function>` (no file path), a plain HTTP call's key has no host or port
   * (`http:GET#0`). Absent, replay brings the tape's keys to that form before matching.
   */
  PortableKeys: 4,
  /**
   * Stored text went through the wide redaction: credentials by name words, URL userinfo anywhere,
   * key-shaped values (sk-..., JWTs, bearer tokens) as tokens, PII rules on notes, config and
   * decisions. Absent, a replayed call that differs is compared again with both sides redacted by
   * today's rules (see src/replay/old-redaction.ts).
   */
  WideRedaction: 5,
} as const;
export type RecorderFlag = (typeof RecorderFlag)[keyof typeof RecorderFlag];
export const CURRENT_RECORDER_FLAGS: readonly RecorderFlag[] = [
  RecorderFlag.NamedRandomStreams,
  RecorderFlag.OpaqueToolBodies,
  RecorderFlag.CallStartOrder,
  RecorderFlag.PortableKeys,
  RecorderFlag.WideRedaction,
];
