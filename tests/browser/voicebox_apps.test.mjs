// voicebox_apps.test.mjs — the Python Voicebox studio's own web app (APP=ca6ed09, the 0.1 app, or e766c7c,
// the 0.5 app) in Debian's chromium against `voicebox serve`, which serves the app (BASE_URL). Started by
// tests/test_voicebox_apps.sh. Plain node: each step prints "ok - ..." or throws.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const APP = process.env.APP;
const BASE = process.env.BASE_URL;
const OUT = process.env.OUT_DIR;
const started = Date.now();
let steps = 0;
const ok = (what) => console.log(`ok ${++steps} - [${APP}] ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'voicebox-apps-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, viewport: { width: 1280, height: 800 },
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
// The 0.1 app keeps its server in localStorage (zustand's "voicebox-server"); point it at this server.
await context.addInitScript((base) => {
  if (!localStorage.getItem('voicebox-server'))
    localStorage.setItem('voicebox-server', JSON.stringify({ state: { serverUrl: base, mode: 'local' }, version: 0 }));
}, BASE);
const page = context.pages()[0] || (await context.newPage());
const bad = [];
page.on('response', (r) => { if (r.status() >= 400) bad.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
page.on('requestfailed', (r) => bad.push(`failed ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
page.on('console', (m) => { if (m.type() === 'error') console.log(`console: ${m.text()}`); });
try {
  await page.goto(BASE);
  await page.waitForTimeout(4000);
  await page.screenshot({ path: path.join(OUT, `${APP}-start.png`) });
  console.log((await page.locator('button, a, [role=tab]').evaluateAll((els) => els.map((e) => `${e.tagName} ${e.getAttribute('aria-label') || ''} ${e.textContent.trim().slice(0, 40)} ${e.getAttribute('href') || ''}`))).join('\n'));
  ok('opened');
} finally {
  console.log(bad.join('\n'));
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
