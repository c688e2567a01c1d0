// The MongoClient's timeouts. The driver's defaults wait without end for a
// server that holds a connection open but stops answering (a network partition
// without a reset, a hung or deadlocked server): every request that reached it
// would hang with it. These defaults fail such a request with 503 instead. A
// connection string that names a timeout itself (`?socketTimeoutMS=30000`)
// keeps its own value, so operators tune them the way MongoDB documents.
import type { MongoClientOptions } from 'mongodb';

export interface Timeouts {
  /** Milliseconds to wait for a server to be available before an operation fails (503 while the database is down). */
  serverSelectionTimeoutMS: number;
  /** Milliseconds an operation may wait on a connection with no reply before it fails. */
  socketTimeoutMS: number;
  /** Milliseconds to open a connection, its handshake included. */
  connectTimeoutMS: number;
  /** Milliseconds an operation may wait for a connection of the pool. */
  waitQueueTimeoutMS: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  // Short: while the database is down, requests are answered 503 within about two seconds.
  serverSelectionTimeoutMS: 2_000,
  // Longer than any single round trip of a request or a background job's page; a reply this late is a fault.
  socketTimeoutMS: 10_000,
  connectTimeoutMS: 5_000,
  // The driver's default waits without end here too; a wait this long means the pool is stuck, not busy.
  waitQueueTimeoutMS: 10_000,
};

/** The options named in a MongoDB connection string, lower-cased (its option names are case-insensitive). */
function uriOptionNames(uri: string): Set<string> {
  const query = uri.split('?')[1] ?? '';
  return new Set([...new URLSearchParams(query).keys()].map((name) => name.toLowerCase()));
}

/** Client options: the given timeouts, then the defaults, for each timeout the connection string does not name. */
export function clientOptions(uri: string, timeouts: Partial<Timeouts> = {}): MongoClientOptions {
  const named = uriOptionNames(uri);
  const options: MongoClientOptions = { ignoreUndefined: true };
  for (const key of Object.keys(DEFAULT_TIMEOUTS) as Array<keyof Timeouts>) {
    if (!named.has(key.toLowerCase())) options[key] = timeouts[key] ?? DEFAULT_TIMEOUTS[key];
  }
  return options;
}
