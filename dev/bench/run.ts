/**
 * `npm run bench [-- --quick] [name ...]`: every benchmark below, one after the other, each in a
 * process of its own on the bench stack (.stack/bench, stopped at the end); then one table of
 * every figure with its floor, measured in the same run, and the ratio. `--quick`: small sizes,
 * one repeat, under 3 minutes. Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { repoRoot, stackDown } from '../stack';
import { log, quick, type Figure } from './harness';

const BENCHES = ['worker-process', 'idle-runs', 'latency', 'start-tasks', 'drain', 'waiting-tasks'];

function runOne(name: string): Promise<(Figure & { ratio: string })[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, `${name}.ts`), ...(quick ? ['--quick'] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const figures: (Figure & { ratio: string })[] = [];
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('BENCH ')) figures.push(JSON.parse(line.slice(6)) as Figure & { ratio: string });
        else process.stdout.write(`  ${line}\n`);
      }
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(figures) : reject(new Error(`${name} exited with ${code}`)),
    );
  });
}

const value = (v: number | undefined, unit: string) =>
  v === undefined ? '-' : `${unit === 's' ? v.toFixed(2) : Math.round(v)} ${unit}`;

async function main(): Promise<void> {
  const chosen = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const names = chosen.length > 0 ? chosen : BENCHES;
  const started = Date.now();
  const loadBefore = loadavg()[0]!;
  const figures: (Figure & { ratio: string })[] = [];
  const failed: string[] = [];
  try {
    for (const name of names) {
      process.stdout.write(`${name}\n`);
      try {
        figures.push(...(await runOne(name)));
      } catch (err) {
        failed.push(name);
        process.stdout.write(`  failed: ${(err as Error).message}\n`);
      }
    }
  } finally {
    await stackDown({ dir: path.join(repoRoot(), '.stack', 'bench'), log });
  }
  const machine =
    `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadBefore.toFixed(1)} at start and ` +
    `${loadavg()[0]!.toFixed(1)} at the end; ${quick ? '--quick' : 'full'} run in ${Math.round((Date.now() - started) / 1000)} s`;
  const table = [
    '| figure | ours | floor measured in the same run | ratio |',
    '| --- | --- | --- | --- |',
    ...figures.map(
      (f) =>
        `| ${f.figure} | ${value(f.ours, f.unit)} | ${f.floor === undefined ? '-' : `${f.floorWhat}: ${value(f.floor, f.unit)}`} | ${f.ratio} |`,
    ),
  ].join('\n');
  const dir = path.join(repoRoot(), '.stack', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.md'), `${machine}\n\n${table}\n`);
  process.stdout.write(`\n${machine}\n\n${table}\n`);
  if (failed.length > 0) {
    process.stderr.write(`failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

void main();
