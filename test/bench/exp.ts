import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { bundleWorker, startGateway } from '../support/miniflare-gateway';
const run = promisify(execFile);
await run('taskset', ['-p', '-c', '0', String(process.pid)]);
const body = JSON.stringify([{ id: 1 }]);
const origin = createServer((_q, r) => {
  r.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  r.end(body);
});
await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
const pids = async () =>
  new Set(
    (await run('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)])).stdout
      .split('\n')
      .filter((l) => l.includes('workerd'))
      .map((l) => Number(l.trim().split(/\s+/)[0])),
  );
const cpu = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const variants: Record<string, [string, number]> = {};
for (const v of (process.env.V ?? 'bare,stepgate').split(',')) {
  const before = await pids();
  const script = v.startsWith('stepgate') ? undefined : await bundleWorker(`test/bench/${v.replace(/2$/, '')}.ts`);
  const g = await startGateway({ originUrl, jwtSecret: 'x'.repeat(40), scriptPath: script });
  const pid = [...(await pids())].find((p) => !before.has(p))!;
  variants[v] = [new URL('/api/projects', g.url).href, pid];
}
const res: Record<string, number[]> = {};
const rr: Record<string, number[]> = {};
const D = Number(process.env.D ?? 3);
for (let round = 0; round < Number(process.env.R ?? 3); round++)
  for (const [v, [url, pid]] of Object.entries(variants)) {
    const c0 = cpu(pid);
    const { stdout } = await run('taskset', ['-c', '1', 'wrk', '-t1', '-c16', `-d${D}s`, url]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    res[v] ??= [];
    res[v].push(((cpu(pid) - c0) * 1e6) / (rps * D));
    rr[v] ??= [];
    rr[v].push(rps);
  }
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const v of Object.keys(res)) console.log('MEDIAN', v, med(res[v]!).toFixed(0), 'us', med(rr[v]!).toFixed(0), 'rps');
process.exit(0);
