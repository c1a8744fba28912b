import { freePort } from '../test/support/free-port.ts';
/**
 * WebSocket proxy benchmark (loopback only, bounded, stops by itself).
 *
 * Three ways to the same simulated node, measured in one run with the same load generator:
 *   direct  client → node
 *   proxy   client → this project's proxy → node
 *   nginx   client → nginx (1 worker, plain WebSocket proxy_pass) → node   (n/a when nginx is missing)
 * Rows: echoed messages per second (many sessions, pipelined), added round-trip latency p50/p99 over
 * direct (one session, sequential), and memory per idle session with 5,000 sessions open.
 *
 * The node and the proxy run in child processes, so the load generator (this process) does not steal
 * the proxy's event loop; nginx is its own process. On a 2-core machine three busy processes share two
 * cores, which is why "about half of direct" is the expected shape for any relaying proxy.
 *
 * Run alone: `npx tsx bench/proxy.ts`; `npm run bench` calls runProxyBench().
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

const SIM_HOST = '127.0.0.2';
const PROXY_HOST = '127.0.0.1';
const IDLE_SESSIONS = 5000;
/** A typical signalling message (an ICE candidate), the traffic this proxy exists for. */
const PAYLOAD = JSON.stringify({
  handleCandidate: 'stream1',
  requestId: 'subscriber-3f2a',
  data: { candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.9 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag abcd', sdpMid: '0', sdpMLineIndex: 0 },
});
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

// ---------------------------------------------------------------- child processes

type ChildMsg = { type: 'ready'; port: number } | { type: 'mem'; rss: number; heap: number };

async function childMain(role: string) {
  const send = (m: ChildMsg) => process.send?.(m);
  const gcNow = () => (globalThis as { gc?: () => void }).gc?.();
  if (role === 'sim') {
    const { startSimNode } = await import('../src/sim/node-sim.ts');
    const node = await startSimNode({ host: SIM_HOST, port: 0, manager: 'http://127.0.0.1:1', clusterPassword: 'x', autoReport: false, wsKeep: 1 });
    // The record of every connection is test tooling; keep the array from growing over 5,000 sessions.
    setInterval(() => node.wsConnections.splice(0), 1000).unref();
    send({ type: 'ready', port: node.port });
  } else {
    const simPort = Number(process.env.BENCH_SIM_PORT);
    const { createWsProxy } = await import('../src/proxy/ws-proxy.ts');
    const { createLogger } = await import('../src/lib/logger.ts');
    const { systemClock } = await import('../src/lib/clock.ts');
    const proxy = createWsProxy({
      // Every bench client comes from one address: the per-client cap (proxy.maxSessionsPerClient, default 100)
      // is switched off explicitly, as SM_PROXY_MAXSESSIONSPERCLIENT=0 would.
      config: { enabled: true, idleTimeout: 0, pingInterval: 30000, handshakeTimeout: 5000, maxSessions: 20000, maxSessionsPerClient: 0 },
      log: createLogger('warn'),
      clock: systemClock,
      resolveTarget: (h) => (h === SIM_HOST ? { host: SIM_HOST, port: simPort } : null),
    });
    const server = http.createServer((_q, r) => r.end('ok'));
    proxy.attach(server);
    await new Promise<void>((r) => server.listen(0, PROXY_HOST, r));
    send({ type: 'ready', port: (server.address() as AddressInfo).port });
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'mem') {
      gcNow();
      gcNow();
      const u = process.memoryUsage();
      send({ type: 'mem', rss: u.rss, heap: u.heapUsed });
    } else if (m.type === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
}

function startChild(role: 'sim' | 'proxy', env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), [`--bench-child=${role}`], {
    cwd: projectRoot,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${role} child did not start`)), 20000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${role} child exited (${code})`)));
    child.on('message', (m: ChildMsg) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve({ child, port: m.port });
      }
    });
  });
}

function childMemory(child: ChildProcess): Promise<{ rss: number; heap: number }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no memory answer')), 10000);
    const on = (m: ChildMsg) => {
      if (m.type !== 'mem') return;
      clearTimeout(t);
      child.off('message', on);
      resolve({ rss: m.rss, heap: m.heap });
    };
    child.on('message', on);
    child.send({ type: 'mem' });
  });
}

// ---------------------------------------------------------------- nginx

interface Nginx {
  proc: ChildProcess;
  port: number;
  dir: string;
}

function findNginx(): { path?: string; why?: string } {
  const candidates = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
  const found = () => candidates.find((p) => existsSync(p));
  if (found()) return { path: found() };
  if (process.getuid?.() !== 0 || process.env.BENCH_INSTALL_NGINX === '0') return { why: 'nginx not installed' };
  // One attempt, bounded: Debian's nginx-light is enough for a WebSocket proxy_pass.
  const r = spawnSync('apt-get', ['install', '-y', '-qq', 'nginx-light'], { timeout: 25000, stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return found() ? { path: found() } : { why: `nginx not installed and apt-get install failed (${r.error?.message ?? 'exit ' + r.status})` };
}

async function startNginx(bin: string, simPort: number): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'sm-bench-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { mode: 0o777 });
  const port = await freePort(PROXY_HOST);
  // One process doing the work (master_process off), like the proxy's one Node process.
  const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen ${PROXY_HOST}:${port};
    location /streammanager/ {
      proxy_pass http://${SIM_HOST}:${simPort}/live/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 600s;
      proxy_send_timeout 600s;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process off;'], { stdio: 'ignore' });
  // nginx has no IPC channel to notice our exit: if a runner cuts this suite off and exits, take it along.
  const reap = () => proc.exitCode === null && proc.kill('SIGKILL');
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  const deadline = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, PROXY_HOST, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8').trim().split('\n').pop() : '';
      proc.kill('SIGKILL');
      throw new Error(`nginx did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, port, dir };
}

/** Kills a helper process and waits (bounded) until it is gone, so nothing outlives the run. */
function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 2000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGKILL');
  });
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

// ---------------------------------------------------------------- load generator

const urlFor = (target: 'direct' | 'relay', port: number, host = PROXY_HOST) =>
  target === 'direct' ? `ws://${SIM_HOST}:${port}/live?id=bench` : `ws://${host}:${port}/streammanager/?id=bench&host=${SIM_HOST}&app=live`;

/** Opens a socket and waits for the node's first frame (the session is fully up then). */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['json'], { perMessageDeflate: false });
    const t = setTimeout(() => (ws.terminate(), reject(new Error('open timed out'))), 15000);
    ws.once('message', () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function openMany(url: string, n: number, batch = 250): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => open(url)))));
  return out;
}

async function closeAll(list: WebSocket[]) {
  await Promise.all(
    list.map(
      (ws) =>
        new Promise<void>((r) => {
          if (ws.readyState === WebSocket.CLOSED) return r();
          ws.once('close', () => r());
          ws.terminate();
        }),
    ),
  );
}

/** Echoed messages per second: every session keeps `window` messages in flight until it has `messages` echoes. */
async function throughput(url: string, sessions: number, messages: number, window = 16): Promise<number> {
  const clients = await openMany(url, sessions);
  const t0 = performance.now();
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve, reject) => {
          let sent = 0;
          let got = 0;
          const pump = () => {
            while (sent < messages && sent - got < window) {
              ws.send(PAYLOAD);
              sent++;
            }
          };
          ws.on('message', () => {
            if (++got === messages) resolve();
            else pump();
          });
          ws.once('close', () => got < messages && reject(new Error('socket closed during the run')));
          pump();
        }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  await closeAll(clients);
  return (sessions * messages) / secs;
}

/** Round-trip times (ms) of sequential request/echo pairs on one session. */
async function roundTrips(url: string, n: number): Promise<number[]> {
  const [ws] = await openMany(url, 1);
  const times: number[] = [];
  let wake: () => void = () => {};
  ws.on('message', () => wake());
  for (let i = 0; i < n + 200; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      wake = r;
      ws.send(PAYLOAD);
    });
    if (i >= 200) times.push(performance.now() - t0); // the first 200 warm the JIT up
  }
  await closeAll([ws]);
  return times;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// ---------------------------------------------------------------- the run

export async function runProxyBench(opts: { sessions?: number; messages?: number } = {}): Promise<{ rows: BenchRow[] }> {
  const sessions = opts.sessions ?? 50;
  const messages = opts.messages ?? 3000;
  const rows: BenchRow[] = [];
  const children: ChildProcess[] = [];
  let nginx: Nginx | undefined;
  try {
    const sim = await startChild('sim');
    children.push(sim.child);
    const proxy = await startChild('proxy', { BENCH_SIM_PORT: String(sim.port) });
    children.push(proxy.child);

    const nx = findNginx();
    let nginxWhy = nx.why;
    if (nx.path) {
      try {
        nginx = await startNginx(nx.path, sim.port);
      } catch (e) {
        nginxWhy = (e as Error).message;
      }
    }

    const targets: Array<{ name: 'direct' | 'proxy' | 'nginx'; url: string }> = [
      { name: 'direct', url: urlFor('direct', sim.port) },
      { name: 'proxy', url: urlFor('relay', proxy.port) },
      ...(nginx ? [{ name: 'nginx' as const, url: urlFor('relay', nginx.port) }] : []),
    ];

    // Throughput: a warm-up pass, then three measured rounds interleaved across targets (so drift in the
    // machine's load hits all of them alike); the median round counts.
    for (const t of targets) await throughput(t.url, 10, 200);
    const runs: Record<string, number[]> = {};
    for (let round = 0; round < 3; round++) {
      for (const t of targets) (runs[t.name] ??= []).push(await throughput(t.url, sessions, messages));
    }
    const tput: Record<string, number> = {};
    for (const [k, v] of Object.entries(runs)) tput[k] = pct(v, 50);
    const shape = `${sessions} sessions × ${messages} echoes, 16 in flight, ${PAYLOAD.length}-byte text frames`;
    rows.push({ name: 'echo throughput direct', value: Math.round(tput.direct), unit: 'msg/s', note: shape });
    rows.push({ name: 'echo throughput via proxy', value: Math.round(tput.proxy), unit: 'msg/s', note: `${(tput.proxy / tput.direct).toFixed(2)} × direct` });
    if (nginx) {
      rows.push({ name: 'echo throughput via nginx', value: Math.round(tput.nginx), unit: 'msg/s', note: `${(tput.nginx / tput.direct).toFixed(2)} × direct; nginx 1 worker` });
      rows.push({ name: 'proxy vs nginx throughput', value: Number((tput.proxy / tput.nginx).toFixed(2)), unit: 'ratio', note: '≥ 1 means at least as fast as nginx' });
    } else {
      rows.push({ name: 'echo throughput via nginx', value: NaN, unit: 'msg/s', note: `n/a: ${nginxWhy}` });
    }

    // Latency: sequential round trips on one session; the proxy's (and nginx's) cost is the difference to direct.
    const rtt: Record<string, number[]> = {};
    for (const t of targets) rtt[t.name] = await roundTrips(t.url, 2000);
    for (const via of ['proxy', 'nginx'] as const) {
      if (!rtt[via]) continue;
      for (const p of [50, 99]) {
        const added = pct(rtt[via], p) - pct(rtt.direct, p);
        rows.push({
          name: `added latency p${p} via ${via}`,
          value: Number(added.toFixed(3)),
          unit: 'ms',
          note: `round trip ${pct(rtt[via], p).toFixed(3)} ms vs direct ${pct(rtt.direct, p).toFixed(3)} ms`,
        });
      }
    }

    // Memory per idle session: 5,000 sessions open through the proxy, child's RSS and heap before/after (after GC).
    const before = await childMemory(proxy.child);
    const idle = await openMany(urlFor('relay', proxy.port), IDLE_SESSIONS);
    const after = await childMemory(proxy.child);
    await closeAll(idle);
    rows.push({ name: 'proxy memory per idle session (RSS)', value: Math.round((after.rss - before.rss) / IDLE_SESSIONS), unit: 'bytes', note: `${IDLE_SESSIONS} sessions open` });
    rows.push({ name: 'proxy memory per idle session (JS heap)', value: Math.round((after.heap - before.heap) / IDLE_SESSIONS), unit: 'bytes', note: `${IDLE_SESSIONS} sessions open` });
    if (nginx?.proc.pid) {
      const nb = rssOf(nginx.proc.pid);
      const nidle = await openMany(urlFor('relay', nginx.port), IDLE_SESSIONS);
      const na = rssOf(nginx.proc.pid);
      await closeAll(nidle);
      rows.push({ name: 'nginx memory per idle session (RSS)', value: Math.round((na - nb) / IDLE_SESSIONS), unit: 'bytes', note: `${IDLE_SESSIONS} sessions open` });
    }
    return { rows };
  } finally {
    const procs = [...children, ...(nginx ? [nginx.proc] : [])];
    await Promise.all(procs.map(stop));
    if (nginx) rmSync(nginx.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- entry points

const childRole = process.argv.find((a) => a.startsWith('--bench-child='))?.split('=')[1];
if (childRole) {
  void childMain(childRole);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  runProxyBench()
    .then(({ rows }) => {
      for (const r of rows) console.log(`${r.name.padEnd(42)} ${String(Number.isNaN(r.value) ? 'n/a' : r.value).padStart(10)} ${r.unit.padEnd(6)} ${r.note ?? ''}`);
      console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
