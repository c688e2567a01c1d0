// The signing key of zero-setup local use: generated on first start in
// DATA_DIR/auth, it signs the tokens `npm run token` prints, and the server
// accepts tokens from the local issuer signed with it. Only a process that can
// read DATA_DIR can mint tokens, so the default stays secure.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import fs from 'node:fs';
import path from 'node:path';

export const LOCAL_ISSUER = 'urn:social-prescribing-fhir:local';
export const LOCAL_ALGORITHM = 'ES256';

export interface LocalKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
}

const keyFile = (dataDir: string): string => path.join(dataDir, 'auth', 'local-signing-key.json');

/** Reads the local key, or creates it (mode 0600) when there is none yet. */
export async function loadOrCreateLocalKey(dataDir: string): Promise<LocalKey> {
  const file = keyFile(dataDir);
  if (!fs.existsSync(file)) {
    const { privateKey } = await generateKeyPair(LOCAL_ALGORITHM, { extractable: true });
    const jwk = await exportJWK(privateKey);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      // 'wx': if another process created it meanwhile, theirs stands and is read below.
      fs.writeFileSync(file, JSON.stringify({ ...jwk, alg: LOCAL_ALGORITHM }), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readLocalKey(dataDir);
}

/** Reads the local key; fails when the server has not created it yet. */
export async function readLocalKey(dataDir: string): Promise<LocalKey> {
  const jwk = JSON.parse(fs.readFileSync(keyFile(dataDir), 'utf8')) as JWK;
  const { d, ...publicJwk } = jwk;
  void d;
  return {
    kid: await calculateJwkThumbprint(publicJwk),
    privateKey: (await importJWK(jwk, LOCAL_ALGORITHM)) as KeyLike,
    publicKey: (await importJWK(publicJwk, LOCAL_ALGORITHM)) as KeyLike,
  };
}
