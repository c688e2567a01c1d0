// Stable pseudonyms for patients in what commissioners receive (DOMAIN.md
// section 8): an HMAC-SHA256 keyed with the server's secret over the
// commissioner and the patient id. The same patient gets the same pseudonym in
// every export to one commissioner, so journeys can be followed across pulls,
// while two commissioners cannot link their data, and nobody without the key
// can go back from a pseudonym to a patient.
import { createHmac, randomBytes } from 'node:crypto';
import type { StoragePort } from '../store/port';

/** Where the generated key is kept when PSEUDONYM_KEY is not set: outside the FHIR API, shared by every process. */
const KEY_JOB = 'keys';
const KEY_FILE = 'pseudonym';

export class Pseudonyms {
  private key: Promise<Buffer> | undefined;

  constructor(
    private readonly store: StoragePort,
    private readonly configuredKey: string | undefined
  ) {}

  /**
   * The key: PSEUDONYM_KEY when set (the recommended way, identical on every
   * process); otherwise one generated on first use and kept in the store's
   * export area, so pseudonyms survive restarts without any setup.
   */
  private secret(): Promise<Buffer> {
    this.key ??= (async () => {
      if (this.configuredKey) return Buffer.from(this.configuredKey, 'utf8');
      let stored = await this.store.readExportChunk(KEY_JOB, KEY_FILE, 0);
      if (!stored) {
        await this.store.writeExportChunk(KEY_JOB, KEY_FILE, 0, randomBytes(32).toString('hex'));
        // Read back, so two processes starting together settle on the one stored last.
        stored = await this.store.readExportChunk(KEY_JOB, KEY_FILE, 0);
      }
      return Buffer.from(stored as string, 'hex');
    })();
    this.key.catch(() => (this.key = undefined));
    return this.key;
  }

  /** A pseudonymiser for one commissioner: patient id -> a 32-character hex id (a valid FHIR id). */
  async forCommissioner(commissioner: string): Promise<(patientId: string) => string> {
    const key = await this.secret();
    return (patientId) => createHmac('sha256', key).update(`${commissioner}\u0000${patientId}`).digest('hex').slice(0, 32);
  }
}
