// Runs a scenario with wrk (https://github.com/wg/wrk), when it is installed
// (`apt-get install wrk`), instead of autocannon. Both load generators run on
// the machine the server runs on, and take CPU the server does not get:
// autocannon is JavaScript, wrk is C. On two cores, audited reads ran 12%
// faster with wrk (4,222 against 3,769/s, 10,000 patients). wrk is also the
// tool the performance targets were first measured with.
//
// wrk makes each request in Lua. The scenario's requests are made here
// first, written one to a line (method, path, body: JSON has no raw tab or
// newline), and the script sends them in order, starting again at the first
// when they run out (searches and reads, which pick at random anyway).
// Scenarios whose requests must each be new (creates, messages) are given
// more than they can send; one that still runs out says so in its note.
// wrk's own latency histogram gives p50, p95 and p99.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface WrkRequest {
  method: string;
  path: string;
  body?: string;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  /** Connection errors, timeouts and answers of status 300 or more. */
  errors: number;
  /** The first answer of status 300 or more, when there was one. */
  firstError?: string;
  /** Whether more were answered than were made: the first were sent again. */
  wrapped: boolean;
}

/** wrk's version line, for the report; undefined when wrk is not on the PATH. */
function wrkVersion(): string | undefined {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  const line = `${probe.stdout}${probe.stderr}`.split('\n')[0];
  return !probe.error && line.startsWith('wrk ') ? line.replace(/ Copyright.*$/, '').trim() : undefined;
}

const SCRIPT = `
local requests, count, next = {}, 0, 0
-- In init, not at the top: wrk knows the host (for the Host header) only by then.
init = function()
  local headers = {}
  for name, value in string.gmatch(os.getenv("SP_BENCH_HEADERS") or "", "([^\\n:]+): ([^\\n]*)") do headers[name] = value end
  for line in io.lines(os.getenv("SP_BENCH_REQUESTS")) do
    local method, path, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
    count = count + 1
    requests[count] = wrk.format(method, path, headers, body ~= "" and body or nil)
  end
end
local told = false
request = function()
  next = next + 1
  if next > count then next = 1 end
  return requests[next]
end
response = function(status, _, body)
  if status >= 300 and not told then
    told = true
    io.stderr:write("first error: " .. status .. " " .. string.sub(body or "", 1, 300) .. "\\n")
  end
end
done = function(summary, latency)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"micros":%d,"p50":%d,"p95":%d,"p99":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** Sends the requests with wrk: one thread, `connections` connections, for `seconds`. */
export async function runWrk(url: string, headers: Record<string, string>, requests: WrkRequest[], connections: number, seconds: number): Promise<WrkResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-wrk-'));
  try {
    const script = path.join(dir, 'requests.lua');
    const list = path.join(dir, 'requests.tsv');
    fs.writeFileSync(script, SCRIPT);
    fs.writeFileSync(list, requests.map((r) => `${r.method}\t${r.path}\t${r.body ?? ''}`).join('\n') + '\n');
    const env = {
      ...process.env,
      SP_BENCH_REQUESTS: list,
      SP_BENCH_HEADERS: Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n'),
    };
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', script, url], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
    if (code !== 0 || !line) throw new Error(`wrk failed (exit code ${code}): ${stderr.trim() || stdout.trim()}`);
    const summary = JSON.parse(line) as { requests: number; micros: number; p50: number; p95: number; p99: number; errors: number };
    const firstError = /first error: (.*)/.exec(stderr)?.[1];
    const ms = (micros: number): number => Number((micros / 1000).toFixed(1));
    return {
      requests: summary.requests,
      seconds: summary.micros / 1e6,
      p50: ms(summary.p50),
      p95: ms(summary.p95),
      p99: ms(summary.p99),
      errors: summary.errors,
      ...(firstError ? { firstError } : {}),
      wrapped: summary.requests > requests.length,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface LoadTool {
  tool: 'wrk' | 'autocannon';
  /** For the report: the tool, and where it ran. */
  description: string;
}

/** The load generator asked for (`--load-tool`), or wrk where it is installed and autocannon elsewhere. */
export function chooseLoadTool(asked: string | undefined): LoadTool {
  if (asked !== undefined && asked !== 'wrk' && asked !== 'autocannon') throw new Error(`--load-tool is wrk or autocannon, not ${asked}`);
  const version = asked === 'autocannon' ? undefined : wrkVersion();
  if (asked === 'wrk' && !version) throw new Error('--load-tool wrk: wrk is not installed (apt-get install wrk)');
  const where = 'same machine, separate process from the server';
  return version
    ? { tool: 'wrk', description: `${version}, 1 thread (${where}); autocannon 8 for sequences of requests` }
    : { tool: 'autocannon', description: `autocannon 8 (${where})` };
}
