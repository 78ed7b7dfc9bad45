/* qt.h — the Qwen3-TTS engine's public interface, and the only engine header the rest of voicebox includes.
 *
 * In the manner of whisper.h: opaque contexts, params structs with *_default_params(), callbacks for
 * progress and streamed audio. The engine knows nothing of HTTP, SQL or any file other than model files.
 * Every call that can fail returns 0 / a pointer on success and -1 / NULL on error, filling *err with one
 * sentence that names the thing and the fault. Every *_load / *_new has a *_free that accepts NULL.
 */
#ifndef QT_H
#define QT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------------------------------- */

typedef enum {
    QT_ERR_NONE = 0,
    QT_ERR_INVALID,   /* bad argument or input (text, codes, audio) */
    QT_ERR_NOT_FOUND, /* a model, file or tensor that does not exist */
    QT_ERR_CORRUPT,   /* a file that exists but is malformed or truncated */
    QT_ERR_MISMATCH,  /* e.g. a voice prompt made for another model width */
    QT_ERR_CANCELLED, /* qt_cancel() was called */
    QT_ERR_IO,        /* the operating system refused (open, mmap, write) */
    QT_ERR_NOMEM,
} qt_error_kind;

typedef struct {
    qt_error_kind kind;
    char msg[512];
} qt_error;

/* Fill *err (NULL is fine) with a printf-style message; returns -1 so callers can `return qt_fail(...)`. */
int qt_fail(qt_error *err, qt_error_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- codec constants (docs/engine.md §1.5) ---------------------------------------------------------- */

#define QT_SAMPLE_RATE 24000
#define QT_SAMPLES_PER_FRAME 1920 /* 12.5 frames per second */
#define QT_CODEBOOKS 16
#define QT_CODEBOOK_SIZE 2048

/* ---- time ----------------------------------------------------------------------------------------- */

/* A monotonic clock in milliseconds, for durations (never the time of day): the one voicebox measures with.
 */
double qt_now_ms(void);

/* The length of the valid UTF-8 prefix of s[0..n): == n when all of it is valid. Strict: no overlong forms,
 * surrogates, code points past U+10FFFF or NUL bytes. The one validator of the engine and the studio. */
size_t qt_utf8_valid_prefix(const char *s, size_t n);
/* The length (1 to 4) of the well-formed character that s[0..n) starts with, by the same rules; 0 when it
 * does not start with one (a NUL, a stray continuation byte, a cut or overlong sequence). */
size_t qt_utf8_char_len(const char *s, size_t n);

/* ---- resampling -----------------------------------------------------------------------------------------
 */

/* The one sample-rate converter of voicebox: mono float, libsoxr at its very-high-quality setting, one shot,
 * single-threaded. *out (malloc'd, the caller frees) holds every sample soxr delivers, about
 * n * to_rate / from_rate; equal rates copy. */
int qt_resample(const float *in, size_t n, int from_rate, int to_rate, float **out, size_t *n_out,
                qt_error *err);

/* ---- model location ----------------------------------------------------------------------------------- */

/* Resolve a model directory path, or a Hub repo id ("Qwen/Qwen3-TTS-12Hz-1.7B-Base") found in the Hugging
 * Face cache (qt_hub_cache_dir), into a directory. */
int qt_resolve_model_dir(const char *path_or_repo, char *out, size_t out_size, qt_error *err);

/* The Hugging Face Hub cache, as huggingface_hub finds it: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else
 * $HF_HOME/hub, else ${XDG_CACHE_HOME:-$HOME/.cache}/huggingface/hub. malloc'd; NULL when out of memory.
 * The one resolver: qt_resolve_model_dir reads the cache through it and the studio's downloader writes it. */
char *qt_hub_cache_dir(void);
/* "<cache_dir>/models--Org--Name", malloc'd; NULL when repo_id is not "Org/Name" in the Hub's characters
 * (letters, digits, '-', '_', '.'; neither part starting with '.'), so no id can name a path outside. */
char *qt_hub_repo_dir(const char *cache_dir, const char *repo_id);

/* model_dir/speech_tokenizer as a directory path. Also follows a symlink that a checkout without symlink
 * support wrote as a small file holding its relative target (the golden tiny-a/tiny-b have one). */
int qt_speech_tokenizer_dir(const char *model_dir, char *out, size_t out_size, qt_error *err);

/* ---- text tokenizer (bpe.c; docs/engine.md §1.6, §2.1) ---------------------------------------------- */

/* The Qwen2/Qwen3 byte-level BPE, giving exactly the ids HF tokenizers gives (add_special_tokens=False).
 * Read-only once loaded: threads may share one. */
typedef struct qt_tokenizer qt_tokenizer;

/* path: a model directory (tokenizer.json if present, else vocab.json + merges.txt; added tokens such as
 * <tts_pad> from tokenizer_config.json, as transformers does), or a tokenizer.json file on its own. */
qt_tokenizer *qt_tokenizer_load(const char *path, qt_error *err);
void qt_tokenizer_free(qt_tokenizer *t); /* NULL is fine */

/* UTF-8 text -> *ids (malloc'd, free() it; never NULL on success, even for no ids). Added/special tokens
 * written in the text (<|im_start|>, <tts_pad>, ...) become their ids. Invalid UTF-8 is QT_ERR_INVALID. */
int qt_tokenize(const qt_tokenizer *t, const char *utf8, int32_t **ids, size_t *n_ids, qt_error *err);

/* The id of the token whose text is exactly `text` ("<tts_pad>", "assistant", "\n"), or -1. */
int32_t qt_tokenizer_token_id(const qt_tokenizer *t, const char *text);
int32_t qt_tokenizer_n_ids(const qt_tokenizer *t); /* largest id + 1 */

/* ids -> UTF-8 text (malloc'd), special tokens included; bytes that do not form UTF-8 become U+FFFD. */
char *qt_detokenize(const qt_tokenizer *t, const int32_t *ids, size_t n_ids, qt_error *err);

/* ---- speech tokenizer (the 12 Hz codec: codes <-> 24 kHz audio; codec.c) ---------------------------------
 */

typedef struct qt_codec qt_codec;

/* dir: a model directory (its speech_tokenizer/ is used), a Hub repo id, or a speech_tokenizer directory
 * itself. n_threads: 0 means qt_default_threads(). Weights stay mmap'd (float32, as released). One call at
 * a time per codec (it owns one thread pool; the decoder does not use BLAS). */
qt_codec *qt_codec_load(const char *dir, int n_threads, qt_error *err);
void qt_codec_free(qt_codec *c); /* NULL is fine */

/* The decoder's arithmetic (docs/engine.md §7.8): on = 0, float32 as released (the default; exact against
 * the reference); on = 1, products in bf16 (weights copied to bf16 on the first call, sums in float32),
 * faster, within 2e-3 of float32. A model loaded with precision int8 decodes in bf16. Not while a stream of
 * this codec is mid-utterance. QT_ERR_NOMEM when the copies do not fit. */
int qt_codec_set_bf16(qt_codec *c, int on, qt_error *err);
int qt_codec_bf16(const qt_codec *c); /* 1: products in bf16 */

/* codes [n_frames][QT_CODEBOOKS] -> out [n_frames * QT_SAMPLES_PER_FRAME], 24 kHz mono in [-1, 1]. Exact
 * single pass over any length (no chunking with cut context), in bounded memory. A code outside
 * 0..QT_CODEBOOK_SIZE-1 is an error (QT_ERR_INVALID) naming the frame and the codebook; nothing is decoded.
 * ICL: decode [reference codes ; generated codes] and drop the first F_ref * QT_SAMPLES_PER_FRAME samples. */
int qt_codec_decode(qt_codec *c, const int32_t *codes, int n_frames, float *out, qt_error *err);

/* Streaming decode: frames in as they are generated, audio out as soon as it is final (a frame's samples
 * are final once the frame is pushed: every stage is causal). Bit for bit the samples qt_codec_decode
 * gives for all frames at once, however the frames are split, without re-decoding anything; memory does not
 * grow with the length. A stream borrows its codec, which must not decode elsewhere at the same time.
 * Cost: every push reads all decoder weights (~0.45 GB for the real codec) once per 8 frames it holds, so
 * pushes of 1 frame are memory-bound (about half the speed of one pass); 4 or more frames per push
 * (>= 320 ms of audio) run close to one-pass speed. */
typedef struct qt_codec_stream qt_codec_stream;

qt_codec_stream *qt_codec_stream_new(qt_codec *c, qt_error *err);
/* Decodes n_frames more frames into out (out_cap >= n_frames * QT_SAMPLES_PER_FRAME floats); *n_out gets
 * the number of samples written (always n_frames * QT_SAMPLES_PER_FRAME). On bad codes nothing changes. */
int qt_codec_stream_push(qt_codec_stream *s, const int32_t *frames, int n_frames, float *out, size_t out_cap,
                         size_t *n_out, qt_error *err);
/* Feeds frames whose audio is not wanted (ICL: the reference codes, the decoder's left context), without
 * producing it: every later push gives bit for bit the samples it would give had these frames been pushed.
 * Cheaper than pushing them: only the last few (the vocoder's reach, 6 frames) go through the costly
 * vocoder, so 40 reference frames cost about a fifth of pushing them. */
int qt_codec_stream_skip(qt_codec_stream *s, const int32_t *frames, int n_frames, qt_error *err);
/* Ends the utterance: writes what is left (nothing, for this codec: the right trim drops the tail), after
 * which push is an error. */
int qt_codec_stream_finish(qt_codec_stream *s, float *out, size_t out_cap, size_t *n_out, qt_error *err);
int qt_codec_stream_frames(const qt_codec_stream *s); /* frames pushed or skipped so far */
void qt_codec_stream_free(qt_codec_stream *s);        /* NULL is fine */

/* Encoder (codec_encoder.c; docs/engine.md §3.2): pcm [n_samples] mono at sample_rate -> *codes (malloc'd
 * [*n_frames][QT_CODEBOOKS]; free() it), *n_frames = ceil(n / QT_SAMPLES_PER_FRAME) counted at 24 kHz.
 * Other rates are resampled to 24 kHz first (libsoxr, very high quality). The encoder's weights are prepared
 * on the first call. Empty or non-finite audio is QT_ERR_INVALID. BLAS runs single-threaded inside the
 * codec's threads; the caller's OpenBLAS thread count is put back before the call returns. */
int qt_codec_encode(qt_codec *c, const float *pcm, size_t n_samples, int sample_rate, int32_t **codes,
                    int *n_frames, qt_error *err);

/* ---- voice prompt (the "what voice" half of a generation; voice_prompt.c, docs/engine.md §3) -------- */

typedef enum {
    QT_PROMPT_ICL = 0,     /* x-vector + reference codes + reference transcript (in-context cloning) */
    QT_PROMPT_XVECTOR = 1, /* x-vector only */
} qt_prompt_mode;

typedef struct {
    qt_prompt_mode mode;
    char size[8];   /* size tag of the model that made it: "0.6B" or "1.7B" */
    int width;      /* x-vector width = that model's talker hidden (1024 / 2048) */
    float *xvector; /* [width] speaker embedding */
    int n_frames;   /* reference frames F (ICL), 0 otherwise */
    int32_t *codes; /* [n_frames][QT_CODEBOOKS] reference codes (ICL), NULL otherwise */
    char *ref_text; /* reference transcript, UTF-8 (ICL), NULL otherwise */
    int n_clipped;  /* reference samples at full scale (|x| >= 0.999) when created; not stored in files */
} qt_voice_prompt;

typedef struct qt_model qt_model; /* below */

#define QT_PROMPT_MIN_SECONDS 2
#define QT_PROMPT_MAX_SECONDS 30

typedef struct {
    double resample_ms, mel_ms, speaker_ms, codec_ms; /* codec_ms is 0 in x-vector mode */
} qt_prompt_timings;

typedef struct {
    /* 0 (default): keep the reference as recorded, trailing silence included. The official code trims
     * nothing, and in ICL mode the generated speech continues the reference's codes: a reference cut right
     * after its last word makes the model run on from that word (the "echo" of the transcript's tail,
     * docs/engine.md §10.11), so the pause is worth keeping. 1: cut trailing audio quieter than -50 dBFS
     * (20 ms RMS), keeping 0.2 s after the last louder window. */
    int trim_trailing_silence;
    /* Called (when not NULL) with one sentence for anything worth telling the user that does not stop the
     * prompt: clipping. The engine does not log. */
    void (*on_warning)(const char *msg, void *user);
    void *user;
    qt_prompt_timings *timings; /* when not NULL, receives the time each stage took */
} qt_prompt_params;

qt_prompt_params qt_prompt_default_params(void);

/* Reference audio (mono, any rate; resampled to 24 kHz with libsoxr) -> a voice prompt for m: the x-vector
 * from the speaker encoder and, when ref_text is given (ICL), the reference codes from the speech tokenizer.
 * ref_text NULL means x-vector only; an empty or blank ref_text is refused. The reference must last 2-30 s
 * (QT_ERR_INVALID otherwise, as is non-finite audio). One call at a time per model (it shares the codec). */
qt_voice_prompt *qt_prompt_create(qt_model *m, const float *pcm, size_t n_samples, int sample_rate,
                                  const char *ref_text, const qt_prompt_params *p, qt_error *err);
void qt_prompt_free(qt_voice_prompt *vp); /* NULL is fine */

/* The prompt file: a versioned little-endian binary ("VBXVOICE", format version, size tag, width, mode,
 * frames, text length, x-vector, codes, text, CRC-32), written to a temp file beside path, fsync'd and
 * renamed over path, so a reader sees the old file or the new one, never a torn one. */
int qt_prompt_save(const qt_voice_prompt *vp, const char *path, qt_error *err);

/* Reads and validates every field and the checksum. expect_size (NULL: any) and expect_width (0: any) name
 * the model it is for. A missing file is QT_ERR_NOT_FOUND; a file for another model size, width or format
 * version QT_ERR_MISMATCH; a truncated, damaged or foreign file QT_ERR_CORRUPT; each with the reason. */
qt_voice_prompt *qt_prompt_load(const char *path, const char *expect_size, int expect_width, qt_error *err);

/* The same file image in memory: *out malloc'd (free() it). parse: label names the image in errors. */
int qt_prompt_serialize(const qt_voice_prompt *vp, uint8_t **out, size_t *out_size, qt_error *err);
qt_voice_prompt *qt_prompt_parse(const uint8_t *bytes, size_t size, const char *label,
                                 const char *expect_size, int expect_width, qt_error *err);

/* ---- model and generation (talker, code predictor, sampling; model.c, generate.c) ------------------------
 */

typedef struct qt_model qt_model;

/* The precision of the talker's and code predictor's matrices that a decode step reads. bf16 (default): the
 * released weights as they are, exact against the reference. int8: quantized at load (group-wise symmetric,
 * 64 columns per scale), the bf16 pages released, so those matrices take half the memory and bandwidth;
 * activations are quantized per step. Prefill, embeddings and the codec are unchanged, and voice prompts do
 * not depend on it. */
typedef enum { QT_PRECISION_BF16 = 0, QT_PRECISION_INT8 = 1 } qt_precision;

/* "bf16" / "int8" -> *out; -1 with *err (QT_ERR_INVALID, naming the accepted values) otherwise. */
int qt_precision_parse(const char *name, qt_precision *out, qt_error *err);
const char *qt_precision_name(qt_precision p); /* "bf16" / "int8" */

typedef struct {
    int n_threads; /* 0: qt_default_threads() */
    int no_codec;  /* 1: do not load speech_tokenizer/ (codes only, no audio) */
    qt_precision precision;
    /* int8: an existing directory where the quantized weights are kept between loads (one file per model,
     * checked against the model file and a checksum, rewritten when stale or damaged; about half the model
     * file's size); NULL: quantize at every load. A cache that cannot be written is skipped, never an error.
     */
    const char *cache_dir;
} qt_load_params;

qt_load_params qt_load_default_params(void);

/* A model directory or Hub repo id -> a loaded model (config, weights mmap'd, tokenizer, codec decoder). */
qt_model *qt_model_load(const char *path_or_repo, const qt_load_params *p, qt_error *err);
/* A cheap integrity check of a Qwen3-TTS model directory, without loading it (for a status page:
 * milliseconds, no hashing): config.json and speech_tokenizer/config.json parse, and the safetensors of the
 * weights and of the speech tokenizer (every shard an index names) have headers that parse and tensors that
 * lie inside their files, which a truncated download does not. 0, or -1 with err naming the file and the
 * fault (QT_ERR_CORRUPT, QT_ERR_NOT_FOUND for a missing file). */
int qt_model_check(const char *dir, qt_error *err);
void qt_model_free(qt_model *m);              /* NULL is fine */
const char *qt_model_size(const qt_model *m); /* "0.6B" / "1.7B" (as written in config.json otherwise) */
int qt_model_hidden(const qt_model *m);       /* talker hidden = x-vector width */
const char *qt_model_dir(const qt_model *m);
int qt_model_threads(const qt_model *m); /* threads the engine runs on */
qt_precision qt_model_precision(const qt_model *m);
/* Where the int8 weights came from: "hit" (the cache), "written" (quantized, cache saved), "not written"
 * (quantized, the cache could not be saved); NULL when no cache was asked for (bf16, or no cache_dir). */
const char *qt_model_weights_cache(const qt_model *m);
/* Weight bytes one frame reads: a talker decode step (layers + codec head) and the code predictor's 15
 * passes (layers, heads, MTP projection). For the benchmark's bandwidth figures. */
void qt_model_bytes_per_frame(const qt_model *m, size_t *talker, size_t *code_predictor);

/* For benchmarks: the SIMD kernels in use ("avx512", "avx2", "scalar") and the machine's memory read
 * bandwidth in bytes/s measured over `bytes` with n_threads threads (0 when it cannot allocate). */
const char *qt_kernels_name(void);
const char *qt_int8_kernels_name(void); /* "avx512-vnni", "avx2" or "scalar" (the fallback) */
double qt_read_bandwidth(int n_threads, size_t bytes);

/* The OpenBLAS kernels the BLAS products run on ("SkylakeX", "Haswell", ...), and the kernels to ask for
 * with OPENBLAS_CORETYPE when the library did not recognise this CPU and fell back to its slow generic ones
 * (NULL when its choice stands). The variable is read only when the library loads: a program that gets a
 * name restarts itself with it set. */
const char *qt_blas_kernels(void);
const char *qt_blas_kernels_fit(void);

/* The languages of the Base models as ISO 639-1 codes, in Voicebox's order — the one list of them, which the
 * studio's rules read — and, in *name (NULL is fine), the name the model's config uses ("de" -> "german").
 * NULL past the end. */
const char *qt_language_code(size_t i, const char **name);

/* Language as given by a user ("auto", a name such as "German", a code such as "de"; any case) -> the
 * lower-case name the model uses ("german") or "auto". -1 with *err (QT_ERR_INVALID) when unknown. */
int qt_language_normalize(const qt_model *m, const char *language, char *out, size_t out_size, qt_error *err);

#define QT_MAX_TEXT_BYTES 8000 /* longer text is refused; split it into several generations */

typedef struct {
    float *audio; /* 24 kHz mono in [-1, 1], n_samples (the reference part already cut in ICL mode) */
    size_t n_samples;
    int32_t *codes; /* [n_frames][QT_CODEBOOKS] generated codes */
    int n_frames;
    int hit_eos; /* 1 when the talker ended the utterance, 0 when max_frames did */
    /* timings in milliseconds: talker prefill; talker steps, code predictor and decoder over all frames;
     * decoding the reference frames as decoder context (ICL); start to first final audio */
    double prefill_ms, talker_ms, cp_ms, decoder_ms, ref_decode_ms, first_audio_ms;
} qt_gen_output;

void qt_gen_output_free(qt_gen_output *o); /* frees what o holds (not o itself); NULL is fine */

typedef struct {
    const char *language;        /* "auto" (default), a name or a code */
    uint64_t seed;               /* the same seed repeats a run on the same build */
    int greedy;                  /* argmax for the talker (and the code predictor when subtalker_greedy) */
    float temperature;           /* talker: 0.9 */
    int top_k;                   /* 50 (0: off) */
    float top_p;                 /* 1.0 (off) */
    float repetition_penalty;    /* 1.05, over distinct earlier codebook-0 tokens */
    int subtalker_greedy;        /* code predictor: argmax (default: follows greedy) */
    float subtalker_temperature; /* 0.9 */
    int subtalker_top_k;         /* 50 */
    float subtalker_top_p;       /* 1.0 */
    int max_frames;  /* stop after this many frames (12.5 per second); default 8192 as the reference */
    int ignore_eos;  /* benchmarks: never stop on EOS (EOS is masked) */
    int ref_context; /* ICL: reference frames the decoder gets as left context; -1 (default) = all of
                      * them, exactly as the reference (fed with qt_codec_stream_skip, cheap). Fewer
                      * change the audio. */
    /* Callbacks (any may be NULL), called on the generating thread. */
    void (*on_progress)(int frames_done, int max_frames, void *user);
    void (*on_frame)(const int32_t codes[QT_CODEBOOKS], int frame, void *user);
    void (*on_audio)(const float *pcm, size_t n_samples,
                     void *user); /* final 24 kHz audio, in order; in
                                   * ICL mode without the one reference sample the official cut keeps for some
                                   * lengths (out gets it in front): a stream cannot know it before the end */
    void *user;
    qt_gen_output *out; /* when not NULL, receives the whole audio, codes and timings */
} qt_gen_params;

qt_gen_params qt_gen_default_params(void);

/* Speaks `text` in the voice of `vp`. 0 on success; -1 with *err on bad input (empty or too long text,
 * unknown language, a prompt for another model width: QT_ERR_MISMATCH) or qt_cancel (QT_ERR_CANCELLED).
 * One generation at a time per model. */
int qt_generate(qt_model *m, const qt_voice_prompt *vp, const char *text, const qt_gen_params *p,
                qt_error *err);

/* Asks the generation running on m to stop at the next frame; safe from any thread. */
void qt_cancel(qt_model *m);

#ifdef __cplusplus
}
#endif

#endif /* QT_H */
