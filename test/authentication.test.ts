// Bearer tokens: what is accepted and what is refused with 401 and
// WWW-Authenticate, for the local key and for an issuer's JWKS (with key rotation).
import express from 'express';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, spawnServer, waitUntilReady } from './support/process';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { BASE_URL, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets, tempDir } from './support/stores';

describe('authentication with the local key [embedded]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
  });
  afterAll(async () => {
    await server.stop();
  });

  const get = (token?: string) => {
    const req = server.anonymous.get('/fhir/Patient');
    return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
  };

  test('a valid token is accepted', async () => {
    expect((await get(await tokenFor())).status).toBe(200);
  });

  test('a missing token is 401 with a Bearer challenge and an OperationOutcome', async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="/);
    expect(res.headers['www-authenticate']).not.toMatch(/error=/);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test.each([
    ['an expired token', { expiresIn: -120 }, /expired/],
    ['a token for another audience', { aud: 'https://elsewhere.example.org/fhir' }, /aud/],
    ['a token not valid yet', { notBefore: 300 }, /nbf/],
  ])('%s is 401 invalid_token', async (_name, claims, reason) => {
    const res = await get(await tokenFor(claims));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(res.body.issue[0].diagnostics).toMatch(reason);
  });

  test('expiry and not-before tolerate a small clock skew', async () => {
    expect((await get(await tokenFor({ expiresIn: -10 }))).status).toBe(200);
    expect((await get(await tokenFor({ notBefore: 10 }))).status).toBe(200);
  });

  test('a token signed by an unknown key is refused', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ scope: 'system/*.cruds' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('urn:social-prescribing-fhir:local')
      .setSubject('mallory')
      .setAudience(BASE_URL)
      .setExpirationTime('1h')
      .sign(privateKey);
    const res = await get(forged);
    expect(res.status).toBe(401);
    expect(res.body.issue[0].diagnostics).toMatch(/signature/);
  });

  test('garbage and tokens of unknown issuers are refused', async () => {
    expect((await get('not-a-jwt')).status).toBe(401);
    expect((await server.anonymous.get('/fhir/Patient').set('Authorization', 'Basic dXNlcjpwYXNz')).status).toBe(401);
  });

  test('the CapabilityStatement and the SMART configuration need no token', async () => {
    expect((await server.anonymous.get('/fhir/metadata')).status).toBe(200);
    const smart = await server.anonymous.get('/fhir/.well-known/smart-configuration');
    expect(smart.status).toBe(200);
    expect(smart.body.capabilities).toContain('permission-v2');
  });
});

describe('authentication against an issuer JWKS [embedded]', () => {
  const ISSUER = 'https://login.example-nhs.test';
  let jwksServer: Server;
  let keys: { kid: string; privateKey: KeyLike; jwk: object }[] = [];
  let fetches = 0;
  let server: TestServer;

  async function newKey(kid: string) {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  }
  const sign = (key: { kid: string; privateKey: KeyLike }) =>
    new SignJWT({ scope: 'system/Patient.rs' })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(ISSUER)
      .setSubject('integrator-1')
      .setAudience(BASE_URL)
      .setExpirationTime('5m')
      .sign(key.privateKey);

  beforeAll(async () => {
    keys = [await newKey('key-1')];
    const app = express();
    app.get('/jwks', (_req, res) => {
      fetches++;
      res.json({ keys: keys.map((k) => k.jwk) });
    });
    jwksServer = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
    server = await startServer(storeTargets[0], { AUTH_ISSUER: ISSUER, AUTH_JWKS_URL: url, AUTH_TOKEN_ENDPOINT: `${ISSUER}/token` });
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((r) => jwksServer.close(r));
  });

  test('tokens verify against the fetched keys, which are cached', async () => {
    const key1 = keys[0];
    expect(
      (
        await request(server.url)
          .get('/fhir/Patient')
          .set('Authorization', `Bearer ${await sign(key1)}`)
      ).status
    ).toBe(200);
    expect(
      (
        await request(server.url)
          .get('/fhir/Patient')
          .set('Authorization', `Bearer ${await sign(key1)}`)
      ).status
    ).toBe(200);
    expect(fetches).toBe(1);
  });

  test('after a key rotation, tokens with the new key are accepted and the old key is retired', async () => {
    const key1 = keys[0];
    const key2 = await newKey('key-2');
    keys = [key2];
    await new Promise((r) => setTimeout(r, 1100)); // the refetch cool-down
    expect(
      (
        await request(server.url)
          .get('/fhir/Patient')
          .set('Authorization', `Bearer ${await sign(key2)}`)
      ).status
    ).toBe(200);
    expect(fetches).toBe(2);
    const old = await request(server.url)
      .get('/fhir/Patient')
      .set('Authorization', `Bearer ${await sign(key1)}`);
    expect(old.status).toBe(401);
  });

  test("the SMART configuration names the issuer's token endpoint", async () => {
    const smart = await request(server.url).get('/fhir/.well-known/smart-configuration');
    expect(smart.body.token_endpoint).toBe(`${ISSUER}/token`);
  });

  test('a token from the issuer without the scope is 403, not 401', async () => {
    const res = await request(server.url)
      .get('/fhir/Task')
      .set('Authorization', `Bearer ${await sign(keys[0])}`);
    expect(res.status).toBe(403);
  });
});

describe('switching authentication off', () => {
  test('is refused unless the server listens on loopback only', () => {
    expect(() => loadConfig({ AUTH: 'off', HOST: '0.0.0.0' })).toThrow(/AUTH=off is refused/);
    expect(loadConfig({ AUTH: 'off', HOST: '127.0.0.1' }).auth.enabled).toBe(false);
    expect(loadConfig({}).auth.enabled).toBe(true);
  });
});

describe('zero-setup local use (a real process)', () => {
  test('the server makes a local key on first start, and npm run token prints a token it accepts', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), AUTH: 'on' };
    const server = spawnServer(env);
    try {
      await waitUntilReady(server.url);
      expect(fs.existsSync(path.join(dataDir, 'auth', 'local-signing-key.json'))).toBe(true);
      expect(fs.statSync(path.join(dataDir, 'auth', 'local-signing-key.json')).mode & 0o077).toBe(0);
      const token = execFileSync(process.execPath, [path.join(__dirname, '../dist/src/cli/token.js'), '--role', 'integrator'], {
        env: { PATH: process.env.PATH, ...env },
      })
        .toString()
        .trim();
      expect((await fetch(`${server.url}/fhir/Patient`)).status).toBe(401);
      expect((await fetch(`${server.url}/fhir/Patient`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(`${server.url}/fhir/AuditEvent`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(403);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
