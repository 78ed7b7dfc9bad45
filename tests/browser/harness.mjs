// harness.mjs — the start-up every browser test shares: its environment from the launcher script
// (tests/browser/env.sh starts the studio), the numbered "ok N - ..." step lines, and headless Debian chromium
// with a throw-away profile. What a test clicks and checks stays in its own file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

// env('BASE_URL', 'OUT_DIR', ...): those variables as an object; throws naming all of them if any is unset.
export function env(...names) {
  if (names.some((n) => !process.env[n])) throw new Error(`${names.join(', ')} must be set`);
  return Object.fromEntries(names.map((n) => [n, process.env[n]]));
}

// steps(label): ok(what) prints the next numbered step with the seconds since start; check(cond, what, detail)
// throws "FAILED: what" (and the detail) unless cond, else counts as ok; count() and seconds() for a summary.
export function steps(label = '') {
  const started = Date.now();
  let n = 0;
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  const ok = (what) => console.log(`ok ${++n} - ${label}${what} (${seconds()} s)`);
  const check = (cond, what, detail = '') => {
    if (!cond) throw new Error(`FAILED: ${what}${detail ? `\n  ${detail}` : ''}`);
    ok(what);
  };
  return { ok, check, count: () => n, seconds };
}

// Nothing but the page under test may reach the network, and nothing may need a display or a sandbox.
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

// launch({ prefix, args, ...playwright options }): chromium (CHROMIUM, default /usr/bin/chromium) at 1280 x 800
// with a fresh profile under dir, a temp dir the test may also use; close() closes it and removes dir.
export async function launch({ prefix = 'voicebox-chromium-', args = [], ...options } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    ...options,
    args: [...ARGS, ...args],
  });
  const page = context.pages()[0] || (await context.newPage());
  const close = async () => {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { context, page, dir, close };
}
