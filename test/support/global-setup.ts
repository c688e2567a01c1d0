// Runs once before the suites: asks the MongoDB at MONGODB_URI (when set)
// whether it has multi-document transactions, so that suites can skip with
// jest's own skip (reported as "skipped") the cases a store cannot run,
// instead of returning early from them.
import { MongoClient } from 'mongodb';

export default async function globalSetup(): Promise<void> {
  const uri = process.env.MONGODB_URI;
  if (!uri) return;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10000 });
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    // Transactions need a replica set member (setName) or a mongos router, as the adapter decides.
    process.env.MONGODB_TRANSACTIONS = String(Boolean(hello.setName) || hello.msg === 'isdbgrid');
  } finally {
    await client.close();
  }
}
