// The messages between the serving thread and the writer thread
// (writer-client.ts, writer-thread.ts), and how errors cross between them:
// a worker thread's messages carry data, not classes, so a lost race and an
// unavailable store are named here and made into their classes again.
import { StoreUnavailableError, VersionConflictError, type AccessChange } from '../port';
import type { EncodedIndexUpdate, EncodedWrite } from './writer';

export type WriterOp =
  | { kind: 'commit'; writes: EncodedWrite[]; access: AccessChange[] }
  | { kind: 'updateIndexes'; updates: EncodedIndexUpdate[] }
  | { kind: 'removeAuditEventsBefore'; instant: string; limit: number }
  | { kind: 'writeExportChunk'; job: string; file: string; seq: number; text: string }
  | { kind: 'deleteExportFiles'; job: string }
  | { kind: 'writeJob'; jobKind: string; id: string; data: string; expected: number }
  | { kind: 'deleteJob'; jobKind: string; id: string; expected?: number }
  | { kind: 'buildLateIndexes' };

export interface WriterRequest {
  seq: number;
  op: WriterOp;
}

export type WriterError = { conflict: [string, string] } | { unavailable: string } | { message: string };

export interface WriterReply {
  seq: number;
  value?: unknown;
  error?: WriterError;
}

/** What one group commit answers: each request's reply, and the index field numbers it interned. */
export interface BatchReply {
  replies: WriterReply[];
  fields: Array<[string, number]>;
  /** Why the writer refuses every write from now on (a failed sync of the log, log-sync.ts). */
  failure?: string;
}

export interface WriterOptions {
  file: string;
  cacheMiB: number;
  /** Sync the write-ahead log before acknowledging (power-loss safety). */
  syncLog: boolean;
  /** The size the log file is cut back to when it starts again (checkpointer.ts). */
  logLimitBytes: number;
}

/** SQLite's result code for a lock another connection holds. */
export const SQLITE_BUSY = 5;

/** The primary result code of an SQLite error (its extended code's low byte), if it is one. */
export const sqliteCode = (err: unknown): number | undefined => {
  const code = (err as { errcode?: number }).errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
};

/** SQLite result codes that mean the disk or the database file, not the request: 503, try again. */
const UNAVAILABLE_CODES = new Set([SQLITE_BUSY, 6 /* LOCKED */, 8 /* READONLY */, 10 /* IOERR */, 13 /* FULL */, 14 /* CANTOPEN */]);

/** @param action what failed, in an unavailable store's message */
export function encodeError(err: unknown, action = 'Write to the embedded store'): WriterError {
  if (err instanceof VersionConflictError) return { conflict: [err.resourceType, err.id] };
  if (err instanceof StoreUnavailableError) return { unavailable: err.message };
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) return { unavailable: `${action} failed: ${message}` };
  return { message };
}

export function decodeError(error: WriterError): Error {
  if ('conflict' in error) return new VersionConflictError(...error.conflict);
  if ('unavailable' in error) return new StoreUnavailableError(error.unavailable);
  return new Error(error.message);
}
