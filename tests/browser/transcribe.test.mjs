// transcribe.test.mjs — the Transcribe button in Debian's chromium (playwright-core, headless) against a real
// `voicebox serve` whose openai/whisper-base comes from the local Hub mirror (the tiny random fixture, so the
// words are nonsense but exactly the engine's). Started by tests/test_browser_transcribe.sh. Plain node:
// each step prints "ok - ..." or throws.
//
// BASE_URL  the studio   OUT_DIR  screenshots   SPEECH_WAV  a recording to transcribe   CHROMIUM  the browser

import fs from 'node:fs';
import path from 'node:path';
import { env, launch, steps } from './harness.mjs';

const { BASE_URL: BASE, OUT_DIR: OUT, SPEECH_WAV: SPEECH } = env('BASE_URL', 'OUT_DIR', 'SPEECH_WAV');
fs.mkdirSync(OUT, { recursive: true });
const { ok, check, count } = steps();

const { page, close } = await launch();
const consoleErrors = [];
page.on('console', (m) => {
  // the 409 this test provokes on purpose is logged by the browser as a failed resource; nothing else may be
  if (m.type() === 'error' && !/status of 409/.test(m.text())) consoleErrors.push(m.text());
});
page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
page.setDefaultTimeout(60000);

const screen = (name) => page.locator(`[data-screen="${name}"]`);
async function go(name) {
  await page.locator(`.tab[data-tab="${name}"]`).click();
  await screen(name).waitFor({ state: 'visible' });
}
async function openSampleForm(name) {
  await go('voices');
  await page.locator('.profile-item', { hasText: name }).click();
  const add = page.locator('form[aria-label="Add a sample"]');
  await add.locator('input[type="file"]').setInputFiles(SPEECH);
  return add;
}

let rc = 0;
try {
  const profile = await page.request.post(`${BASE}/profiles`, { data: { name: 'Transcribed voice', language: 'en' } }).then((r) => r.json());
  await page.goto(BASE);
  await screen('voices').waitFor({ state: 'visible' });

  // before the model is downloaded: the 409 in words beside the transcript, naming the model
  let add = await openSampleForm(profile.name);
  await add.getByTestId('transcribe').click();
  const err = add.locator('[data-error-for="reference_text"]');
  await err.waitFor({ state: 'visible' });
  check(/whisper-base is not downloaded/.test(await err.textContent()), 'Transcribe before the download shows the 409 beside the transcript', await err.textContent());

  // the Server screen lists the Whisper models and downloads one; the setting names the one in use
  await go('server');
  const row = page.locator('.model[data-model-name="whisper-base"]');
  await row.waitFor();
  for (const n of ['whisper-small', 'whisper-medium', 'whisper-large', 'whisper-turbo'])
    await page.locator(`.model[data-model-name="${n}"]`).waitFor();
  check(await page.getByTestId('whisper-model').inputValue() === 'whisper-base', 'the Server screen lists the five Whisper models, whisper-base chosen');
  await row.getByRole('button', { name: 'Download' }).click();
  await page.locator('.model[data-model-name="whisper-base"][data-downloaded="true"]').waitFor();
  ok('whisper-base downloads from the Server screen');
  await page.screenshot({ path: path.join(OUT, 'transcribe-server.png') });

  // the button fills the transcript with the server's words, for the user to correct
  const want = await page.request.post(`${BASE}/transcribe`, {
    multipart: { file: { name: 'speech.wav', mimeType: 'audio/wav', buffer: fs.readFileSync(SPEECH) }, language: 'en', model: 'whisper-base' },
  }).then((r) => r.json());
  add = await openSampleForm(profile.name);
  const transcript = add.getByLabel('Transcript');
  await transcript.fill('');
  await add.getByTestId('transcribe').click();
  await page.waitForFunction(() => document.querySelector('form[aria-label="Add a sample"] textarea[name="reference_text"]').value !== '');
  const got = await transcript.inputValue();
  check(got === want.text && got.length > 0, 'Transcribe fills the transcript with what POST /transcribe answers', `${got.slice(0, 80)} vs ${String(want.text).slice(0, 80)}`);
  check(await transcript.evaluate((el) => el === document.activeElement), 'the transcript has the focus, ready to be corrected');
  await page.screenshot({ path: path.join(OUT, 'transcribe-voices.png') });

  // the setting is what the button uses: another size, not downloaded, answers 409 naming it
  await go('server');
  await page.getByTestId('whisper-model').selectOption('whisper-small');
  add = await openSampleForm(profile.name);
  await add.getByTestId('transcribe').click();
  await add.locator('[data-error-for="reference_text"]').waitFor({ state: 'visible' });
  check(/whisper-small is not downloaded/.test(await add.locator('[data-error-for="reference_text"]').textContent()), 'the chosen Whisper size is the one the button asks for');
  check(consoleErrors.length === 0, 'no console errors', consoleErrors.join('\n  '));
} catch (e) {
  console.log(e.message);
  await page.screenshot({ path: path.join(OUT, 'transcribe-failure.png') }).catch(() => {});
  rc = 1;
}
await close();
console.log(rc ? '[FAILED]' : `all ${count()} transcribe browser checks passed`);
process.exit(rc);
