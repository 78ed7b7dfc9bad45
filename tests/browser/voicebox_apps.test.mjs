// voicebox_apps.test.mjs — the Python Voicebox studio's own web app (APP=ca6ed09, the 0.1 app, or e766c7c,
// the 0.5 app) in Debian's chromium against `voicebox serve`, which serves the app (BASE_URL). Started by
// tests/test_voicebox_apps.sh. Plain node: each step prints "ok - ..." or throws. As a new user would: create
// a profile with an uploaded sample, generate with 1.7B and with 0.6B before either model is downloaded (the
// take downloads its model first), hear it (the page loads the take's audio; the 0.5 app opens its player once
// the status stream says completed), see both in history, delete one; no 4xx/5xx but those listed as not ours.
import path from 'node:path';
import { env, launch, steps } from './harness.mjs';

const { APP, BASE_URL: BASE, OUT_DIR: OUT } = env('APP', 'BASE_URL', 'OUT_DIR');
const { ok, check } = steps(`[${APP}] `);

const { context, page, close } = await launch({
  prefix: 'voicebox-apps-chromium-',
  args: ['--autoplay-policy=no-user-gesture-required'],
});
// The 0.1 app keeps its server in localStorage (zustand's "voicebox-server"); point it at this server.
await context.addInitScript((base) => {
  if (!localStorage.getItem('voicebox-server'))
    localStorage.setItem('voicebox-server', JSON.stringify({ state: { serverUrl: base, mode: 'local' }, version: 0 }));
}, BASE);
// Every answer of 400 or more and every failed request is collected; at the end none may remain but these,
// which are not voicebox's to serve:
const NOT_OURS = [
  /^404 GET \S+\/vite\.svg$/, // the builds' index.html names a favicon the build does not contain
  /^failed GET \S+ net::ERR_ABORTED$/, // requests the page itself gives up (a closed stream, a reload mid-poll)
];
const bad = [];
page.on('response', (r) => { if (r.status() >= 400) bad.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
page.on('requestfailed', (r) => bad.push(`failed ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
try {
  await page.goto(BASE);
  await page.getByRole('button', { name: 'Create Voice' }).first().waitFor({ timeout: 15000 });
  await page.waitForLoadState('networkidle').catch(() => {}); // its start-up requests, checked at the end
  await page.screenshot({ path: path.join(OUT, `${APP}-0-start.png`) });
  ok('the app opens, served by voicebox');
  await page.getByRole('button', { name: 'Create Voice' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('tab', { name: 'Upload' }).click();
  await dialog.locator('input[type=file][accept^="audio"]').setInputFiles(process.env.SAMPLE_WAV);
  await dialog.locator('textarea[name=referenceText]').fill(process.env.SAMPLE_TEXT);
  await dialog.locator('input[name=name]').fill('Ada');
  await dialog.getByRole('button', { name: 'Create Profile' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 20000 });
  ok('a profile is created with an uploaded sample');
  // ---- generate with 1.7B (not downloaded yet either: the take downloads it first), hear it ----
  const history = async () => (await (await fetch(`${BASE}/history`)).json()).items;
  const audioLoads = [];
  page.on('response', (r) => { if (/\/audio\/[0-9a-f-]{36}$/.test(r.url()) && r.status() < 300) audioLoads.push(r.url()); });
  const progressStreams = [];
  page.on('request', (r) => { if (r.url().includes('/models/progress/')) progressStreams.push(r.url()); });
  async function generate(text) {
    await page.locator('textarea[placeholder^="Generate speech using"]').fill(text);
    await page.locator('form button[type=submit]').first().click();
    const end = Date.now() + 60000;
    while (Date.now() < end) {
      const take = (await history()).find((g) => g.text === text);
      if (take && ['completed', 'failed', 'cancelled'].includes(take.status)) return take;
      await page.waitForTimeout(200);
    }
    throw new Error(`FAILED: the take "${text}" did not finish within 60 s`);
  }
  const first = await generate('Hello there.');
  check(first.status === 'completed' && first.model_size === '1.7B', `a take with 1.7B completes (${first.status}, ${first.model_size})`);
  if (APP === 'e766c7c') {
    await page.getByRole('button', { name: 'Close player' }).waitFor({ timeout: 15000 });
    ok('the take\'s completion reaches the page: the player opens');
  }
  await page.waitForFunction((id) => performance.getEntriesByType('resource').some((e) => e.name.endsWith(`/audio/${id}`)), first.id, { timeout: 15000 });
  ok('the page loads the take\'s audio into its player');
  await page.screenshot({ path: path.join(OUT, `${APP}-1-generated.png`) });
  // The 0.5 app autoplays a finished take only while nothing is playing; the first take (6 s) may still be
  // playing when a fast machine finishes the next one, so the user closes the player first.
  if (APP === 'e766c7c') await page.getByRole('button', { name: 'Close player' }).click();

  // ---- 0.6B before it is downloaded: the take starts the download, the page may follow it, the take completes ----
  await page.locator('button, [role=combobox]', { hasText: 'Qwen3-TTS 1.7B' }).first().click();
  await page.getByRole('option', { name: /Qwen3-TTS 0\.6B/ }).first().click();
  const second = await generate('Small model.');
  check(second.status === 'completed' && second.model_size === '0.6B', `a take with 0.6B, not downloaded before, completes (${second.status}, ${second.model_size})`);
  const models = (await (await fetch(`${BASE}/models/status`)).json()).models;
  check(models.filter((m) => !m.model_name.startsWith('whisper-')).every((m) => m.downloaded), 'both models are downloaded now');
  if (APP === 'ca6ed09') check(progressStreams.some((u) => u.endsWith('qwen-tts-0.6B')), 'the 0.1 app followed the download on /models/progress/qwen-tts-0.6B');
  await page.waitForFunction((id) => performance.getEntriesByType('resource').some((e) => e.name.endsWith(`/audio/${id}`)), second.id, { timeout: 15000 });
  ok('and its audio is loaded for playing');

  // ---- history: both takes listed; delete one ----
  await page.getByText('Small model.').first().waitFor({ timeout: 15000 });
  await page.getByText('Hello there.').first().waitFor();
  ok('history lists both takes');
  await page.screenshot({ path: path.join(OUT, `${APP}-2-history.png`) });
  await page.getByRole('button', { name: 'Actions' }).first().click();
  await page.getByRole('menuitem', { name: /Delete/ }).click();
  const confirm = page.getByRole('alertdialog').or(page.getByRole('dialog'));
  if (await confirm.count()) await confirm.getByRole('button', { name: /Delete/ }).click();
  const end = Date.now() + 15000;
  while ((await history()).length !== 1 && Date.now() < end) await page.waitForTimeout(200);
  check((await history()).length === 1, 'a take is deleted from the page (the server has one left)');
  // ---- a reload on one of the app's page paths gets the app (index.html), not a 404 ----
  const reload = await page.goto(`${BASE}/voices`);
  await page.locator('a[href="/voices"]').first().waitFor({ timeout: 15000 });
  check(reload.status() === 200 && /text\/html/.test(reload.headers()['content-type']), 'GET /voices answers the app\'s index.html');

  const unexpected = bad.filter((b) => !NOT_OURS.some((re) => re.test(b)));
  check(unexpected.length === 0, `no 404/405/409/5xx answer and no failed request other than those listed as not ours${unexpected.length ? `:\n  ${unexpected.join('\n  ')}` : ''}`);
} finally {
  await close();
}
