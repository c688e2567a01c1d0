// What MongoDB and MongoDB-compatible services do that FerretDB does not:
// - MongoDB refuses a $regex pattern with an embedded NUL byte, so a search
//   value with %00 must reach it escaped, never as a raw NUL;
// - a write conflict (WriteConflict, code 112) may come without the
//   TransientTransactionError label that the driver's withTransaction retries:
//   the adapter retries it itself, and a conflict that outlasts the retries is
//   a lost race (409/412), never a 500;
// - FerretDB runs an update filtered by a field as a read and then a write, so
//   two processes updating one job record on one revision could both succeed:
//   a job record's compare-and-set must still let exactly one win.
import { MongoServerError } from 'mongodb';
import { MongoStore } from '../src/store/mongo/store';
import { toMongoQuery } from '../src/store/mongo/translate';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { patient } from './support/resources';
import { storeTargets, uniqueDatabaseUri } from './support/stores';

describe('MongoDB queries never carry a raw NUL byte', () => {
  test('prefix and contains patterns escape NUL as \\x00', () => {
    for (const kind of ['prefix', 'contains'] as const) {
      const query = toMongoQuery({ kind, field: 'idx.name', value: 'a\0b' });
      const pattern = query['idx.name'].$regex as string;
      expect(pattern).not.toContain('\0');
      expect(new RegExp(pattern).test('a\0b')).toBe(true);
      expect(new RegExp(pattern).test('a0b')).toBe(false);
    }
  });
});

const mongo = storeTargets.find((t) => t.name === 'mongodb');
(mongo ? describe : describe.skip)('write conflicts on MongoDB [mongodb]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(mongo as NonNullable<typeof mongo>);
  }, 120000);
  afterAll(async () => {
    await server.stop();
  });

  const writeConflict = () =>
    new MongoServerError({ code: 112, codeName: 'WriteConflict', errmsg: 'WriteConflict error: this operation conflicted with another operation' });

  /** Makes the adapter's next `times` writes of a Patient version fail with a WriteConflict (AuditEvents still go through). */
  function failNextWrites(times: number): () => void {
    type Write = { version: { resourceType: string } };
    const store = server.store as unknown as { writeVersion: (write: Write, ...rest: unknown[]) => Promise<void> };
    const original = store.writeVersion;
    let left = times;
    store.writeVersion = function (this: unknown, write: Write, ...rest: unknown[]) {
      if (write.version.resourceType === 'Patient' && left-- > 0) return Promise.reject(writeConflict());
      return original.call(this, write, ...rest);
    };
    return () => {
      store.writeVersion = original;
    };
  }

  test('a search value with a NUL byte answers 200', async () => {
    for (const query of ['name=a%00b', 'name:contains=%00', 'family:exact=x%00']) {
      const res = await server.api.get(`/fhir/Patient?${query}`);
      expect(res.status).toBe(200);
    }
  });

  /** Creates a Patient, then updates it with If-Match while its next `times` version writes fail with a WriteConflict. */
  async function updateWhileWritesFail(times: number) {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    const restore = failNextWrites(times);
    try {
      const res = await server.api
        .put(`/fhir/Patient/${created.id}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', 'W/"1"')
        .send({ ...created, gender: 'male' });
      return { created, res };
    } finally {
      restore();
    }
  }

  test('a WriteConflict without the transient label is retried and the update succeeds', async () => {
    const { res } = await updateWhileWritesFail(2);
    expect(res.status).toBe(200);
    expect(res.body.meta.versionId).toBe('2');
  });

  test('a conflict that outlasts the retries is a lost race: 412 with If-Match, never 500', async () => {
    const { created, res } = await updateWhileWritesFail(1000);
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect((await server.api.get(`/fhir/Patient/${created.id}`)).body.meta.versionId).toBe('1');
  });
});

(mongo ? describe : describe.skip)('job records shared by processes on MongoDB [mongodb]', () => {
  test('of writers in two processes on one revision, exactly one wins, every time (20 rounds)', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    // Two stores, two connection pools: as two server processes see the database.
    const [a, b] = [new MongoStore(uri), new MongoStore(uri)];
    await a.start([]);
    await b.start([]);
    try {
      expect(await a.writeJob('race', 'job', 'created', 0)).toBe(true);
      for (let revision = 1; revision <= 20; revision++) {
        const wins = await Promise.all([a.writeJob('race', 'job', `a${revision}`, revision), b.writeJob('race', 'job', `b${revision}`, revision)]);
        expect(wins.filter(Boolean)).toHaveLength(1);
        const record = await b.readJob('race', 'job');
        expect(record?.revision).toBe(revision + 1);
        expect(record?.data).toBe(wins[0] ? `a${revision}` : `b${revision}`);
      }
    } finally {
      await a.dropDatabase();
      await a.close();
      await b.close();
    }
  }, 60000);
});
