// A directory import's input, kept in the store beside its job record so that
// any process can resume the job: through the storage port's chunked files
// (the ones bulk export writes its output to), under the job's id. Chunk 0
// says what the input is (its pages, its rejected records, how many service
// chunks follow); each further chunk holds a run of service records.
import type { StoragePort } from '../store/port';
import type { DirectoryContent, Rejection } from './read';

const FILE = 'directory-import-input';
/** Service records per chunk: a chunk stays well below a MongoDB document's 16 MB. */
const SERVICES_PER_CHUNK = 500;

interface Header {
  rejected: Rejection[];
  pagesSeen: number[];
  totalPages?: number;
  unpaged: boolean;
  chunks: number;
}

export async function storeInput(store: StoragePort, jobId: string, input: DirectoryContent): Promise<void> {
  const chunks = Math.ceil(input.services.length / SERVICES_PER_CHUNK);
  for (let i = 0; i < chunks; i++) {
    await store.writeExportChunk(jobId, FILE, i + 1, JSON.stringify(input.services.slice(i * SERVICES_PER_CHUNK, (i + 1) * SERVICES_PER_CHUNK)));
  }
  // The header last: an input whose header is there is whole.
  const header: Header = { rejected: input.rejected, pagesSeen: [...input.pagesSeen], totalPages: input.totalPages, unpaged: input.unpaged, chunks };
  await store.writeExportChunk(jobId, FILE, 0, JSON.stringify(header));
}

export async function loadInput(store: StoragePort, jobId: string): Promise<DirectoryContent> {
  const headerText = await store.readExportChunk(jobId, FILE, 0);
  if (headerText === undefined) throw new Error(`The input of directory import ${jobId} is not in the store`);
  const header = JSON.parse(headerText) as Header;
  const services: DirectoryContent['services'] = [];
  for (let seq = 1; seq <= header.chunks; seq++) {
    const text = await store.readExportChunk(jobId, FILE, seq);
    if (text === undefined) throw new Error(`Directory import ${jobId} lost chunk ${seq} of its input`);
    services.push(...(JSON.parse(text) as DirectoryContent['services']));
  }
  return { services, rejected: header.rejected, pagesSeen: new Set(header.pagesSeen), totalPages: header.totalPages, unpaged: header.unpaged };
}

export const removeInput = (store: StoragePort, jobId: string): Promise<void> => store.deleteExportFiles(jobId);
