// The messages between the serving thread and the reader thread
// (reader-client.ts, reader-thread.ts). Errors cross as the writer's do
// (writer-protocol.ts).
import type { Filter } from '../search/filter';
import type { StoreQuery } from '../port';
import type { WriterError } from './writer-protocol';
import type { ChannelReply, ChannelRequest } from '../../base/worker-channel';

export type ReaderOp =
  | { kind: 'page'; query: StoreQuery }
  | { kind: 'count'; resourceType: string; filter: Filter }
  /** The planner's statistics changed (planner-statistics.ts): open the connection again, to load them. */
  | { kind: 'reopen' }
  /** The SQL of every statement run since the last trace; the first starts recording (what a search ran, for tests). */
  | { kind: 'trace' };

export type ReaderRequest = ChannelRequest<ReaderOp>;

export type ReaderReply = ChannelReply<WriterError>;

export interface ReaderOptions {
  file: string;
  cacheMiB: number;
}
