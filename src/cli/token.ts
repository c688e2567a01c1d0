// Prints a bearer token signed with the local key in DATA_DIR, for local use:
//   npm run --silent token -- --role link-worker --ods A81001
//   npm run --silent token -- --scope "system/Task.rs" [--sub name] [--expires 3600]
// The audience is the server's FHIR base (BASE_URL, or http://HOST:PORT/fhir),
// so run it with the same environment as the server.
import { SignJWT } from 'jose';
import { parseArgs } from 'node:util';
import { LOCAL_ALGORITHM, LOCAL_ISSUER, loadOrCreateLocalKey } from '../auth/local-key';
import { defaultScopes, ROLES, type Role } from '../auth/roles';
import { ConfigError, loadConfig } from '../config';

const USAGE = `usage: npm run --silent token -- (--role <${ROLES.join('|')}> | --scope "<scopes>") [--ods <ODS code>] [--patient <id>] [--sub <name>] [--expires <seconds>]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      scope: { type: 'string' },
      ods: { type: 'string' },
      patient: { type: 'string' },
      sub: { type: 'string' },
      expires: { type: 'string', default: '3600' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || (!values.role && !values.scope)) throw new ConfigError(USAGE);
  if (values.role && !(ROLES as readonly string[]).includes(values.role)) throw new ConfigError(`Unknown role ${values.role}; one of ${ROLES.join(', ')}`);
  const expires = Number(values.expires);
  if (!Number.isInteger(expires) || expires <= 0) throw new ConfigError('--expires takes a number of seconds');
  const config = loadConfig();
  const key = await loadOrCreateLocalKey(config.dataDir);
  const role = values.role as Role | undefined;
  const token = await new SignJWT({
    scope: values.scope ?? defaultScopes(role as Role),
    ...(role ? { sp_role: role } : {}),
    ...(values.ods ? { ods_code: values.ods } : {}),
    ...(values.patient ? { patient: values.patient } : {}),
    client_id: 'local-cli',
  })
    .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setSubject(values.sub ?? role ?? 'local-user')
    .setAudience(config.auth.audience)
    .setIssuedAt()
    .setExpirationTime(`${expires}s`)
    .sign(key.privateKey);
  process.stdout.write(token + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError || err instanceof TypeError ? err.message : String(err)}\n`);
  process.exit(2);
});
