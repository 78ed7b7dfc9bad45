#!/usr/bin/python3
"""gen_whisper_fixtures.py — Whisper reference fixtures from the official OpenAI code, on tiny random models.

Builds two tiny random Whisper models in the Hugging Face transformers layout (config.json, model.safetensors,
tokenizer files converted from multilingual.tiktoken the way transformers converts it, generation_config.json,
preprocessor_config.json): one with 80 mel bins and the v2 vocabulary (99 languages, F32 weights), one with
128 mel bins and the large-v3 vocabulary (100 languages, F16 weights). Then it runs the official
whisper/audio.py, model.py and decoding.py (plain PyTorch) on them and writes what tests/test_whisper*.c
compare against, under tests/data/whisper/:

  tokenizer/         vocab.json + merges.txt shared by both models (the model dirs link to them)
  model-80/ model-128/  the models, plus ref.json (shapes, token ids, greedy tokens, language probabilities,
                     logits at chosen columns) and mel.f32 / encoder.f32 (little-endian float32 arrays)
  tokenizer_cases.json  >= 100 strings with their ids from the official tokenizer
  jfk.wav            the first seconds of openai/whisper tests/jfk.flac at 16 kHz mono 16-bit (MIT)

tiktoken is not in Debian, so a small pure-Python stand-in (below) implements its byte-pair merge exactly as
tiktoken's Rust core does (lowest merge rank first, leftmost on ties, whole-piece lookup first).

Usage: /usr/bin/python3 tools/gen_whisper_fixtures.py --whisper-src DIR (a checkout of openai/whisper)
       [--out tests/data/whisper]. Needs python3-torch, python3-numpy, python3-regex and sox.
"""
import argparse
import base64
import json
import math
import os
import struct
import subprocess
import sys
import types

import numpy as np
import regex
import torch

# ---- a tiktoken stand-in (only what whisper/tokenizer.py uses) ----------------------------------------------


def byte_pair_merge(ranks, piece):
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best is None:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return [ranks[p] for p in parts]


class Encoding:
    def __init__(self, name, explicit_n_vocab, pat_str, mergeable_ranks, special_tokens):
        self.name = name
        self.n_vocab = explicit_n_vocab
        self.pat = regex.compile(pat_str)
        self.ranks = mergeable_ranks
        self.special = special_tokens
        self.decoder = {v: k for k, v in mergeable_ranks.items()}
        for k, v in special_tokens.items():
            self.decoder[v] = k.encode()
        self.special_tokens_set = set(special_tokens)
        self.eot_token = special_tokens["<|endoftext|>"]

    def encode_ordinary(self, text):
        out = []
        for m in self.pat.finditer(text):
            b = m.group().encode("utf-8")
            out.extend([self.ranks[b]] if b in self.ranks else byte_pair_merge(self.ranks, b))
        return out

    def encode(self, text, allowed_special=(), disallowed_special="all"):
        if allowed_special == "all":
            specials = sorted(self.special, key=len, reverse=True)
            alt = regex.compile("|".join(regex.escape(s) for s in specials))
            out, pos = [], 0
            for m in alt.finditer(text):
                out += self.encode_ordinary(text[pos : m.start()]) + [self.special[m.group()]]
                pos = m.end()
            return out + self.encode_ordinary(text[pos:])
        for s in self.special:
            if s in text:
                raise ValueError(f"special token {s} in text")
        return self.encode_ordinary(text)

    def encode_single_token(self, text):
        if text in self.special:
            return self.special[text]
        return self.ranks[text.encode()]

    def decode(self, ids):
        return b"".join(self.decoder[i] for i in ids).decode("utf-8", errors="replace")


def import_official(src):
    """Imports whisper.audio/model/decoding/tokenizer from a checkout without running its __init__ (which
    needs tqdm and numba for parts not used here)."""
    tk = types.ModuleType("tiktoken")
    tk.Encoding = Encoding
    sys.modules["tiktoken"] = tk
    nb = types.ModuleType("numba")
    nb.jit = lambda *a, **k: (lambda f: f)
    sys.modules["numba"] = nb
    tq = types.ModuleType("tqdm")
    tq.tqdm = None
    sys.modules["tqdm"] = tq
    pkg = types.ModuleType("whisper")
    pkg.__path__ = [os.path.join(src, "whisper")]
    sys.modules["whisper"] = pkg
    import whisper.audio
    import whisper.decoding
    import whisper.model
    import whisper.tokenizer

    return whisper


# ---- Hugging Face layout ---------------------------------------------------------------------------------


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()


def tok_str(b):
    return "".join(B2U[x] for x in b)


def hf_bpe_split(ranks, token, max_rank):
    """transformers' tiktoken conversion: merge the token's bytes by rank, stopping below its own rank."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while True:
        best, best_rank = None, None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and (best_rank is None or r < best_rank):
                best, best_rank = i, r
        if best_rank is None or best_rank >= max_rank:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


def write_tokenizer_files(ranks, out_dir):
    vocab, merges = {}, []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        vocab[tok_str(token)] = rank  # rank 50256 is b"", kept as "" as the conversion keeps it
        if len(token) <= 1:
            continue
        parts = hf_bpe_split(ranks, token, rank)
        assert len(parts) == 2, token
        merges.append(f"{tok_str(parts[0])} {tok_str(parts[1])}")
    vocab["<|endoftext|>"] = len(ranks)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def specials_of(tok):
    return sorted(tok.encoding.special.items(), key=lambda kv: kv[1])


def write_model_dir(wh, model, tok, d, out_dir, dtype):
    os.makedirs(out_dir, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        link = os.path.join(out_dir, f)
        if not os.path.lexists(link):
            os.symlink(os.path.join("..", "tokenizer", f), link)
    sp = specials_of(tok)
    added = {}
    for text, i in sp:
        is_ts = regex.fullmatch(r"<\|\d+\.\d\d\|>", text) is not None
        added[str(i)] = {"content": text, "lstrip": False, "normalized": False, "rstrip": False,
                         "single_word": False, "special": not is_ts}
    eot, sot = tok.eot, tok.sot
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"add_prefix_space": False, "added_tokens_decoder": added, "bos_token": "<|endoftext|>",
                   "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "model_max_length": 1024, "tokenizer_class": "WhisperTokenizer", "errors": "replace"},
                  f, indent=1)
    langs = list(wh.tokenizer.LANGUAGES.keys())[: model.num_languages]
    suppress = list(tok.non_speech_tokens)
    cfg = {
        "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
        "activation_function": "gelu", "d_model": d.n_audio_state, "num_mel_bins": d.n_mels,
        "encoder_layers": d.n_audio_layer, "encoder_attention_heads": d.n_audio_head,
        "decoder_layers": d.n_text_layer, "decoder_attention_heads": d.n_text_head,
        "encoder_ffn_dim": 4 * d.n_audio_state, "decoder_ffn_dim": 4 * d.n_text_state,
        "max_source_positions": d.n_audio_ctx, "max_target_positions": d.n_text_ctx,
        "vocab_size": d.n_vocab, "scale_embedding": False, "num_hidden_layers": d.n_audio_layer,
        "bos_token_id": eot, "eos_token_id": eot, "pad_token_id": eot, "decoder_start_token_id": sot,
        "torch_dtype": "float32" if dtype == torch.float32 else "float16",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    gen = {
        "begin_suppress_tokens": [tok.encode(" ")[0], eot], "bos_token_id": eot, "eos_token_id": eot,
        "pad_token_id": eot, "decoder_start_token_id": sot, "is_multilingual": True,
        "lang_to_id": {f"<|{c}|>": sot + 1 + i for i, c in enumerate(langs)},
        "task_to_id": {"transcribe": tok.transcribe, "translate": tok.translate},
        "no_timestamps_token_id": tok.no_timestamps, "prev_sot_token_id": tok.sot_prev,
        "max_length": d.n_text_ctx, "suppress_tokens": suppress, "return_timestamps": False,
    }
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=1)
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor",
                   "feature_size": d.n_mels, "hop_length": 160, "n_fft": 400, "n_samples": 480000,
                   "nb_max_frames": 3000, "padding_side": "right", "padding_value": 0.0,
                   "processor_class": "WhisperProcessor", "return_attention_mask": False,
                   "sampling_rate": 16000}, f, indent=1)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), hf_state_dict(model), dtype)


def hf_state_dict(model):
    """The official parameter names -> transformers' WhisperForConditionalGeneration names."""
    block = {"attn.query": "self_attn.q_proj", "attn.key": "self_attn.k_proj", "attn.value": "self_attn.v_proj",
             "attn.out": "self_attn.out_proj", "attn_ln": "self_attn_layer_norm",
             "cross_attn.query": "encoder_attn.q_proj", "cross_attn.key": "encoder_attn.k_proj",
             "cross_attn.value": "encoder_attn.v_proj", "cross_attn.out": "encoder_attn.out_proj",
             "cross_attn_ln": "encoder_attn_layer_norm", "mlp.0": "fc1", "mlp.2": "fc2",
             "mlp_ln": "final_layer_norm"}
    top = {"encoder.conv1": "model.encoder.conv1", "encoder.conv2": "model.encoder.conv2",
           "encoder.ln_post": "model.encoder.layer_norm", "decoder.ln": "model.decoder.layer_norm",
           "decoder.token_embedding": "model.decoder.embed_tokens"}
    out = {}
    for k, v in model.state_dict().items():
        m = regex.fullmatch(r"(encoder|decoder)\.blocks\.(\d+)\.(.+)\.(weight|bias)", k)
        if m:
            out[f"model.{m[1]}.layers.{m[2]}.{block[m[3]]}.{m[4]}"] = v
        elif k.endswith("positional_embedding"):
            out[f"model.{k.split('.')[0]}.embed_positions.weight"] = v
        else:
            stem, leaf = k.rsplit(".", 1)
            out[f"{top[stem]}.{leaf}"] = v
    return out


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().to(dtype).contiguous().numpy()
        b = a.tobytes()
        header[name] = {"dtype": "F32" if dtype == torch.float32 else "F16", "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- random models ---------------------------------------------------------------------------------------


def random_model(wh, d, seed, dtype):
    torch.manual_seed(seed)
    m = wh.model.Whisper(d)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("positional_embedding"):
                p.normal_(0, 0.3)
            elif "ln" in name.split(".")[-2] and name.endswith("weight"):
                p.uniform_(0.7, 1.3)
            elif name.endswith("bias"):
                p.normal_(0, 0.1)
            elif "token_embedding" in name:
                p.normal_(0, 1.0)
            else:
                fan_in = p.shape[1] * (p.shape[2] if p.dim() == 3 else 1)
                p.normal_(0, 1.0 / math.sqrt(fan_in))
        # the F16 model runs in f32 on the f16-rounded weights, exactly what the C side reads
        for p in m.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    # the encoder's sinusoids are a buffer in the official code and a stored tensor in transformers
    m.encoder.positional_embedding.copy_(m.encoder.positional_embedding.to(dtype).to(torch.float32))
    m.eval()
    return m


# ---- outputs ---------------------------------------------------------------------------------------------

MEL_FRAMES = 420  # frames stored in full; every later frame must equal the clamp floor (tail_value)


def fixtures_for(wh, model, tok, audio, out_dir, language, text_ids):
    d = model.dims
    mel = wh.audio.log_mel_spectrogram(torch.from_numpy(wh.audio.pad_or_trim(audio)), n_mels=d.n_mels)
    assert mel.shape == (d.n_mels, 3000)
    tail = mel[:, MEL_FRAMES:]
    tail_value = float(tail.min())
    assert float(tail.max()) == tail_value, "the padded tail is not constant"
    mel[:, :MEL_FRAMES].contiguous().numpy().astype("<f4").tofile(os.path.join(out_dir, "mel.f32"))
    with torch.no_grad():
        enc = model.embed_audio(mel.unsqueeze(0))
        enc[0].numpy().astype("<f4").tofile(os.path.join(out_dir, "encoder.f32"))

        # teacher-forced logits of the whole sequence in one pass (no KV cache)
        seq = list(tok.sot_sequence_including_notimestamps) + text_ids
        logits = model.logits(torch.tensor([seq]), enc)[0]
        cols = sorted(set(list(range(0, 64)) + list(range(tok.eot, tok.eot + 120)) + [d.n_vocab - 1] +
                          [int(x) for x in torch.randint(0, d.n_vocab, (200,), generator=torch.Generator().manual_seed(5))]))
        tf = {"tokens": seq, "columns": cols,
              "logits": [[float(logits[t, c]) for c in cols] for t in range(len(seq))],
              "row_max": [float(logits[t].max()) for t in range(len(seq))],
              "row_logsumexp": [float(torch.logsumexp(logits[t].double(), 0)) for t in range(len(seq))]}

        langs_tok, probs = wh.decoding.detect_language(model, enc[0], tok_nolang(wh, model))
        opts = wh.decoding.DecodingOptions(task="transcribe", language=language, temperature=0.0,
                                           without_timestamps=True, fp16=False, sample_len=40)
        res = wh.decoding.decode(model, enc[0], opts)

    ref = {
        "n_mels": d.n_mels, "n_vocab": d.n_vocab, "d_model": d.n_audio_state, "n_audio_ctx": d.n_audio_ctx,
        "mel_frames": MEL_FRAMES, "mel_tail_value": tail_value, "mel_max": float(mel.max()),
        "teacher_forced": tf,
        "language_probs": probs, "detected_language_token": int(langs_tok),
        "greedy": {"language": language, "sample_len": 40, "tokens": res.tokens, "text": res.text,
                   "sot_sequence": list(tok.sot_sequence_including_notimestamps)},
    }
    with open(os.path.join(out_dir, "ref.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
    return ref


def tok_nolang(wh, model):
    return wh.tokenizer.get_tokenizer(True, num_languages=model.num_languages, language="en", task="transcribe")


TOKENIZER_STRINGS = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", " \n ", "a", "A", "Hello", " Hello", "Hello world", "Hello  world",
    "Hello   world ", "And so my fellow Americans, ask not what your country can do for you",
    "ask what you can do for your country.", "It's", "it's", "IT'S", "we'll", "We'LL", "they're", "I'm", "I've",
    "you'd", "don't", "'s", "''", "'''", "s'", "hello's world", "1", "12", "123", "1234", "12345",
    "3.14159", "1,000,000", "$5.99", "100%", "2026-12-02", "07:15", "+49 30 1234567", "#hashtag", "@user",
    "foo_bar", "foo-bar", "foo--bar", "(parenthesis)", "[bracket]", "{brace}", "<tag>", "a/b\\c", "\"quoted\"",
    "...", "?!", "¿Qué tal?", "¡Hola!", "Grüße aus München", "naïve café", "Ærøskøbing", "façade",
    "Привет, мир!", "Здравствуйте", "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया",
    "こんにちは世界", "カタカナ", "你好，世界。", "我爱北京天安门", "안녕하세요 세계", "สวัสดีชาวโลก",
    "Xin chào thế giới", "ሰላም ዓለም", "გამარჯობა", "Բարեւ", "😀", "😀😀😀", " 👋 hi", "👨‍👩‍👧‍👦",
    "🇩🇪🇫🇷", "♪♪♪", "♩♫♬", "「引用」", "『本』", "→ ← ↑ ↓", "∑∫√∞", "©®™", "e\u0301", "\u00e9",
    "a\u00a0b", "a\u3000b", "a\u2003b", "tab\there", "line\r\nbreak", "   leading", "trailing   ",
    "mixed \t\n whitespace \n\n\n end", "ALLCAPS SHOUTING", "camelCaseWord", "snake_case_word",
    "https://example.com/a?b=c&d=e", "email@example.com", "C++ and C#", "x=1; y=2;", "if (a < b) { return; }",
    "🙂 smile", "Ünïcödé", "ß", "ǅ", "ﬁ", "Ⅻ", "½ ¾", "٣٤٥", "१२३", "一二三", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!!!!!!!!!!!!!!!!!!",
    "<|endoftext|>", "Hello<|endoftext|>world", "<|startoftranscript|><|en|><|transcribe|><|notimestamps|> Hi",
    "<|0.00|> time <|1.50|>", "not <|special", "<|en|>",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whisper-src", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "whisper"))
    a = ap.parse_args()
    wh = import_official(a.whisper_src)
    out = a.out
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)

    ranks = {base64.b64decode(t): int(r) for t, r in
             (line.split() for line in open(os.path.join(a.whisper_src, "whisper/assets/multilingual.tiktoken")) if line.strip())}
    write_tokenizer_files(ranks, os.path.join(out, "tokenizer"))

    wav = os.path.join(out, "jfk.wav")
    subprocess.run(["sox", os.path.join(a.whisper_src, "tests/jfk.flac"), "-r", "16000", "-c", "1", "-b", "16",
                    wav, "trim", "0", "4"], check=True)
    raw = open(wav, "rb").read()
    data = raw[raw.index(b"data") + 8 :]
    audio = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0

    tok99 = wh.tokenizer.get_tokenizer(True, num_languages=99, language="en", task="transcribe")
    cases = []
    for s in TOKENIZER_STRINGS:
        cases.append({"text": s, "ids": tok99.encoding.encode(s, allowed_special="all")})
    with open(os.path.join(out, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False, indent=0)

    text_ids = tok99.encode(" And so my fellow Americans, ask not")
    MD = wh.model.ModelDimensions
    for n_mels, n_vocab, dtype, seed, width, lang in ((80, 51865, torch.float32, 80, 8, "en"),
                                                      (128, 51866, torch.float16, 128, 16, None)):
        d = MD(n_mels=n_mels, n_audio_ctx=1500, n_audio_state=width, n_audio_head=2, n_audio_layer=2,
               n_vocab=n_vocab, n_text_ctx=448, n_text_state=width, n_text_head=2, n_text_layer=2)
        model = random_model(wh, d, seed, dtype)
        tok = wh.tokenizer.get_tokenizer(True, num_languages=model.num_languages, language="en", task="transcribe")
        mdir = os.path.join(out, f"model-{n_mels}")
        write_model_dir(wh, model, tok, d, mdir, dtype)
        ref = fixtures_for(wh, model, tok, audio, mdir, lang, text_ids)
        print(f"model-{n_mels}: greedy {ref['greedy']['tokens'][:12]}... detected {ref['detected_language_token']}")


if __name__ == "__main__":
    main()
