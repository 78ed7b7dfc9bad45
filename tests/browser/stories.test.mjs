// stories.test.mjs — the Stories screen, avatars and profile packages in Debian's chromium (playwright-core,
// headless) against a real `voicebox serve` holding three seeded takes. Started by tests/test_browser_stories.sh.
// Builds a story from three takes on two tracks by dragging, trims a clip by its edge, splits at the playhead
// with S, plays the mix with Web Audio and exports the WAV; uploads an avatar and round-trips the profile
// through export and import. Every step is checked against the server's own state (its API), with
// screenshots in OUT_DIR. Plain node: each step prints "ok - ..." or throws.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { env, launch, steps } from './harness.mjs';

const { BASE_URL: BASE, OUT_DIR: OUT } = env('BASE_URL', 'OUT_DIR');
const { check } = steps();
const api = async (p, init) => {
  const r = await fetch(BASE + p, init);
  return r.json();
};

// A 300 x 200 PNG written here (zlib + CRC): left half opaque orange, right half transparent.
function png() {
  const w = 300, h = 200;
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = y * (w * 4 + 1) + 1 + x * 4;
      if (x < w / 2) raw.set([240, 140, 20, 255], o);
    }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const { page, dir: tmp, close } = await launch({
  prefix: 'voicebox-stories-',
  acceptDownloads: true,
  viewport: { width: 1280, height: 860 },
  args: ['--autoplay-policy=no-user-gesture-required'],
});
const errors = [];
page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.setDefaultTimeout(15000);
const shot = async (name) => {
  await page.waitForTimeout(200);
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
};

try {
  // ---- Voices: avatar upload, profile export and import ----
  await page.goto(`${BASE}/#voices`);
  const [profile] = await api('/profiles');
  await page.locator(`[data-profile-id="${profile.id}"]`).click();
  fs.writeFileSync(path.join(tmp, 'me.png'), png());
  await page.locator('[data-testid="avatar-input"]').setInputFiles(path.join(tmp, 'me.png'));
  const img = page.locator(`[data-profile-id="${profile.id}"] [data-testid="avatar-img"]`);
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  const natural = await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]);
  check(natural[0] === 300 && natural[1] === 200, 'the avatar shows in the list (the stored 300 x 200 PNG)', String(natural));
  await shot('voices-avatar');

  const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="profile-export"]').click()]);
  check(dl.suggestedFilename() === `profile-${profile.name}.voicebox.zip`, 'Export downloads profile-<name>.voicebox.zip', dl.suggestedFilename());
  const zipPath = path.join(tmp, dl.suggestedFilename());
  await dl.saveAs(zipPath);
  const zip = fs.readFileSync(zipPath);
  check(zip.subarray(0, 2).toString() === 'PK' && zip.includes('manifest.json') && zip.includes('avatar.png'), 'the package is a zip with manifest.json and avatar.png');
  await page.locator('[data-testid="profile-import-input"]').setInputFiles(zipPath);
  const imported = page.locator('.profile-item', { hasText: `${profile.name} (1)` });
  await imported.waitFor();
  const all = await api('/profiles');
  const copy = all.find((p) => p.name === `${profile.name} (1)`);
  const copySamples = copy ? await api(`/profiles/${copy.id}/samples`) : [];
  check(copy && copy.avatar_path && copySamples.length === 1, 'Import brings the profile back as "<name> (1)" with its sample and avatar');
  await imported.locator('[data-testid="avatar-img"]').waitFor();
  await shot('voices-imported');

  // ---- Stories: a story from three takes ----
  await page.goto(`${BASE}/#stories`);
  await page.locator('[data-testid="story-new"] input').fill('Browser story');
  await page.locator('[data-testid="story-new"] button[type="submit"]').click();
  await page.locator('[data-testid="timeline"]').waitFor();
  const stories = await api('/stories');
  const sid = stories.find((s) => s.name === 'Browser story').id;
  const story = () => api(`/stories/${sid}`);
  for (let k = 0; k < 3; k++) {
    await page.locator('[data-testid="story-add"]').nth(k).click();
    await page.locator('[data-testid="tl-clip"]').nth(k).waitFor();
  }
  let st = await story();
  check(st.items.length === 3 && st.items.map((i) => i.start_time_ms).join() === '0,700,1400', 'three takes added from the history, 200 ms apart', st.items.map((i) => i.start_time_ms).join());
  await page.locator('[data-testid="zoom-in"]').click(); // 0.2 px/ms: a 0.5 s clip is 100 px wide
  await shot('stories-added');

  // drag the second clip down onto track 1 and left to 300 ms; the third onto track 1 at 900 ms
  // the timeline is drawn anew after each edit is read back, so a clip can be briefly detached: wait for its box
  const boxOf = async (selector) => {
    const end = Date.now() + 10000;
    for (;;) {
      const box = await page.locator(selector).boundingBox().catch(() => null);
      if (box || Date.now() > end) return box;
      await page.waitForTimeout(50);
    }
  };
  const drag = async (itemId, dx, dy) => {
    const box = await boxOf(`[data-item="${itemId}"]`);
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + dx / 2, y + dy / 2, { steps: 4 });
    await page.mouse.move(x + dx, y + dy, { steps: 4 });
    await release();
  };
  // releasing the mouse ends a gesture: its edit goes to the server and the timeline is read back
  const release = async () => {
    const reread = page.waitForResponse((r) => r.url().endsWith(`/stories/${sid}`) && r.request().method() === 'GET');
    await page.mouse.up();
    await reread;
  };
  const [a, b, c] = st.items;
  await drag(b.id, -80, 56); // -400 ms at 0.2 px/ms, one track down
  await drag(c.id, -100, 56);
  st = await story();
  const byId = Object.fromEntries(st.items.map((i) => [i.id, i]));
  check(byId[b.id].track === 1 && byId[c.id].track === 1 && byId[a.id].track === 0, 'two clips dragged onto track 1', JSON.stringify(st.items.map((i) => [i.track, i.start_time_ms])));
  check(Math.abs(byId[b.id].start_time_ms - 300) <= 10 && Math.abs(byId[c.id].start_time_ms - 900) <= 10, 'and across time (300 ms, 900 ms)', `${byId[b.id].start_time_ms}, ${byId[c.id].start_time_ms}`);

  // trim the first clip's end by dragging its right edge 20 px (100 ms) left
  const edge = await boxOf(`[data-item="${a.id}"] [data-testid="tl-edge-r"]`);
  await page.mouse.move(edge.x + edge.width / 2, edge.y + edge.height / 2);
  await page.mouse.down();
  await page.mouse.move(edge.x + edge.width / 2 - 20, edge.y + edge.height / 2, { steps: 4 });
  await release();
  st = await story();
  const trimmed = st.items.find((i) => i.id === a.id);
  check(Math.abs(trimmed.trim_end_ms - 100) <= 10 && trimmed.trim_start_ms === 0, 'the right edge trims the clip (trim_end_ms ~100)', String(trimmed.trim_end_ms));

  // split the first clip at 200 ms: playhead there (click the ruler), select the clip, press S
  const ruler = await boxOf('[data-testid="tl-ruler"]');
  await page.mouse.click(ruler.x + 200 * 0.2, ruler.y + ruler.height / 2);
  await page.locator(`[data-item="${a.id}"]`).click({ position: { x: 40, y: 20 } });
  await page.mouse.click(ruler.x + 200 * 0.2, ruler.y + ruler.height / 2); // the click on the clip moved nothing
  await page.keyboard.press('s');
  await page.locator('[data-testid="tl-clip"]').nth(3).waitFor();
  st = await story();
  const halves = st.items.filter((i) => i.generation_id === a.generation_id).sort((x, y) => x.start_time_ms - y.start_time_ms);
  check(st.items.length === 4 && halves.length === 2 && Math.abs(halves[1].start_time_ms - 200) <= 10 && Math.abs(halves[1].trim_start_ms - 200) <= 10, 'S splits the selected clip at the playhead', JSON.stringify(halves.map((i) => [i.start_time_ms, i.trim_start_ms, i.trim_end_ms])));
  await shot('stories-edited');

  // play: the playhead moves while the mix plays, and stops at the end
  await page.locator('[data-testid="tl-ruler"]').click({ position: { x: 1, y: 5 } });
  await page.locator('[data-testid="story-play"]').click();
  await page.waitForSelector('[data-testid="timeline"][data-playing="true"]');
  await page.waitForTimeout(400);
  const moved = await page.locator('[data-testid="tl-playhead"]').evaluate((el) => parseFloat(el.style.left));
  await shot('stories-playing');
  check(moved > 20, 'Play runs the mix in Web Audio: the playhead moves', `${moved}px`);
  await page.waitForSelector('[data-testid="timeline"]:not([data-playing])', { timeout: 5000 });
  check(true, 'playback stops at the end of the story');

  // export the WAV
  const [wav] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="story-export"]').click()]);
  const wavPath = path.join(tmp, 'story.wav');
  await wav.saveAs(wavPath);
  const w = fs.readFileSync(wavPath);
  const seconds = (w.length - 44) / 2 / 24000;
  check(wav.suggestedFilename() === 'Browser story.wav' && w.subarray(0, 4).toString() === 'RIFF' && Math.abs(seconds - 1.4) < 0.02,
    'Export WAV downloads the mix (1.4 s: the last clip ends at 900 + 500 ms)', `${wav.suggestedFilename()} ${seconds.toFixed(3)} s`);

  check(errors.length === 0, 'no errors in the page console', errors.join('\n'));
} finally {
  await close();
}
