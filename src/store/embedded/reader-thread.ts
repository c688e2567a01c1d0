// The reader thread of the embedded store: runs searches' SQL (search-sql.ts)
// on a connection of its own, on the machine's other core. node:sqlite is
// synchronous: on the serving thread, a name-prefix search's SQL took a third
// of the thread's time (10,000-patient bench), and a slow search held every
// other request for as long as it ran. In WAL mode this connection reads
// beside the serving thread's and the writer's, never waiting for either.
//
// Requests are answered in the order they came. A statement reads the
// database as committed when it begins, so a search sent after a change was
// acknowledged sees the change.
import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openConnection } from './schema';
import { preparedRecent } from './prepared';
import { FieldIds } from './field-ids';
import { SearchSql } from './search-sql';
import { encodeError } from './writer-protocol';
import type { ReaderOp, ReaderOptions, ReaderReply, ReaderRequest } from './reader-protocol';

const options = workerData as ReaderOptions;
const port = parentPort;
if (!port) throw new Error('reader-thread runs as a worker thread');

function open(): DatabaseSync {
  const connection = openConnection(options.file, options.cacheMiB);
  // Nothing on this connection ever writes: SQLite refuses it if anything tries.
  connection.exec('PRAGMA query_only = 1');
  return connection;
}

let db = open();
const prepared = preparedRecent(() => db);
/** The SQL run since the last trace request, once one has started recording. */
let traced: string[] | undefined;
const statement = (sql: string): StatementSync => {
  traced?.push(sql);
  return prepared(sql);
};
const search = new SearchSql(statement, new FieldIds(statement));

function run(op: ReaderOp): unknown {
  switch (op.kind) {
    case 'page':
      return search.pageRows(op.query);
    case 'count':
      return search.countRows(op.resourceType, op.filter);
    case 'reopen': {
      // Requests are handled one at a time, so no statement is in use across the swap.
      const previous = db;
      db = open();
      prepared.clear();
      previous.close();
      return undefined;
    }
    case 'trace': {
      const ran = traced ?? [];
      traced = [];
      return ran;
    }
  }
}

port.on('message', (message: ReaderRequest[] | 'close') => {
  if (message === 'close') {
    db.close();
    port.postMessage('closed');
    return;
  }
  // Each answered as soon as it is ready: a page does not wait for the searches sent with it.
  for (const { seq, op } of message) {
    let reply: ReaderReply;
    try {
      reply = { seq, value: run(op) };
    } catch (err) {
      reply = { seq, error: encodeError(err, 'A search of the embedded store') };
    }
    port.postMessage([reply]);
  }
});
