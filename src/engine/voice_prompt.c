/* voice_prompt.c — voice-clone prompts (docs/engine.md §3): creation from reference audio, the prompt file.
 *
 * Creation: resample to 24 kHz (libsoxr) -> log-mel (mel.c) -> x-vector (speaker_encoder.c) and, in ICL
 * mode, the reference codes (qt_codec_encode). The file keeps exactly what a generation needs, tagged with
 * the model size and width it was made for, because a 0.6B x-vector (1024) in a 1.7B talker (2048) is
 * wrong without any error (§3.1, §10.4). Must not: read audio files (the caller decodes), log, or trust a
 * single byte of a file before its field is checked.
 *
 * File format, version 1, little-endian:
 *   0  char[8]  magic "VBXVOICE"
 *   8  u32      format version (1)
 *   12 char[8]  model size tag, NUL-padded ("0.6B")
 *   20 u32      width (x-vector floats)
 *   24 u32      mode (0 ICL, 1 x-vector only)
 *   28 u32      frames F (ICL >= 1, x-vector 0)
 *   32 u32      reference text bytes (ICL >= 1, x-vector 0)
 *   36 u32      reserved, 0
 *   40          f32 xvector[width], i32 codes[F][16], text bytes (UTF-8, no NUL)
 *   end - 4     u32 CRC-32 (IEEE) of every byte before it
 */
#include "engine/mel.h"
#include "engine/model.h"
#include "engine/speaker_encoder.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "VBXVOICE"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 40
#define MAX_WIDTH 65536
#define MAX_FRAMES 7500 /* 10 minutes at 12.5 Hz: far above the 30 s creation limit */
#define MAX_TEXT_BYTES 65536
#define MAX_FILE_BYTES (64u << 20)

qt_prompt_params qt_prompt_default_params(void)
{
    qt_prompt_params p = {0};
    return p;
}

void qt_prompt_free(qt_voice_prompt *vp)
{
    if (!vp) return;
    free(vp->xvector);
    free(vp->codes);
    free(vp->ref_text);
    free(vp);
}

/* ---- helpers ----------------------------------------------------------------------------------------- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    static const uint32_t nibble[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
        0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ nibble[c & 15];
        c = (c >> 4) ^ nibble[c & 15];
    }
    return ~c;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- creation ---------------------------------------------------------------------------------------- */

static void warn(const qt_prompt_params *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const qt_prompt_params *p, const char *fmt, ...)
{
    if (!p->on_warning) return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->on_warning(msg, p->user);
}

/* Reference limits beyond the duration (qt.h): rates soxr converts from, and the level that counts as
 * clipping (full scale, with room for a float round trip through 16-bit PCM). */
#define MIN_SAMPLE_RATE 1000
#define MAX_SAMPLE_RATE 768000
#define CLIP_LEVEL 0.999f
/* Trailing-silence trim: 20 ms windows quieter than -50 dBFS are cut, 0.2 s after the last louder one kept.
 */
#define SILENCE_DBFS (-50.0)
#define SILENCE_WINDOW (QT_SAMPLE_RATE / 50)
#define SILENCE_KEEP (QT_SAMPLE_RATE / 5)

/* End of the audio after cutting trailing silent windows (see qt_prompt_params.trim_trailing_silence for why
 * this is not the default). */
static size_t trailing_silence_end(const float *x, size_t n)
{
    const double floor2 = pow(10.0, SILENCE_DBFS / 10.0); /* mean square of the silence level */
    size_t end = n;
    while (end >= SILENCE_WINDOW) {
        double s = 0;
        for (size_t i = end - SILENCE_WINDOW; i < end; i++)
            s += (double)x[i] * x[i];
        if (s / SILENCE_WINDOW >= floor2) break;
        end -= SILENCE_WINDOW;
    }
    return end + SILENCE_KEEP < n ? end + SILENCE_KEEP : n;
}

static int resample_24k(const float *pcm, size_t n, int rate, float **out, size_t *n_out, qt_error *err)
{
    return qt_resample(pcm, n, rate, QT_SAMPLE_RATE, out, n_out, err);
}

/* Step 1: what was asked can make a prompt with this model (arguments, rate, duration, transcript). */
static int check_request(const qt_model *m, const float *pcm, size_t n_samples, int sample_rate,
                         const char *ref_text, qt_error *err)
{
    if (!m || !pcm)
        return qt_fail(err, QT_ERR_INVALID, "prompt: no %s was given", m ? "reference audio" : "model");
    if (sample_rate < MIN_SAMPLE_RATE || sample_rate > MAX_SAMPLE_RATE)
        return qt_fail(err, QT_ERR_INVALID, "reference: a sample rate of %d Hz is not supported (%d-%d)",
                       sample_rate, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE);
    double seconds = (double)n_samples / sample_rate;
    if (seconds < QT_PROMPT_MIN_SECONDS || seconds > QT_PROMPT_MAX_SECONDS)
        return qt_fail(err, QT_ERR_INVALID,
                       "the reference lasts %.2f s; a voice prompt needs %d to %d s of speech", seconds,
                       QT_PROMPT_MIN_SECONDS, QT_PROMPT_MAX_SECONDS);
    if (ref_text) {
        const char *s = ref_text;
        while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
            s++;
        size_t text_len = strlen(ref_text);
        if (!*s)
            return qt_fail(err, QT_ERR_INVALID,
                           "the reference transcript is empty (give what the reference says, or make "
                           "an x-vector-only prompt)");
        if (text_len > QT_MAX_TEXT_BYTES || qt_utf8_valid_prefix(ref_text, text_len) != text_len)
            return qt_fail(err, QT_ERR_INVALID, "the reference transcript is %s",
                           text_len > QT_MAX_TEXT_BYTES ? "longer than the text limit" : "not valid UTF-8");
    }
    if (m->cfg.speaker.enc_dim != qt_model_hidden(m))
        return qt_fail(err, QT_ERR_CORRUPT,
                       "config.json: speaker encoder enc_dim %d differs from the talker width %d",
                       m->cfg.speaker.enc_dim, qt_model_hidden(m));
    if (ref_text && !m->codec)
        return qt_fail(err, QT_ERR_INVALID,
                       "an ICL prompt needs the speech tokenizer, and the model was loaded without it");
    return 0;
}

/* Step 2: every sample is a finite number; *n_clipped counts those at full scale. */
static int check_samples(const float *pcm, size_t n, int *n_clipped, qt_error *err)
{
    *n_clipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pcm[i]))
            return qt_fail(err, QT_ERR_INVALID, "reference: sample %zu is not a finite number", i);
        *n_clipped += fabsf(pcm[i]) >= CLIP_LEVEL;
    }
    return 0;
}

/* Step 3: the reference at 24 kHz in a buffer of its own (*y, caller frees), trailing silence cut on request.
 */
static int reference_24k(const float *pcm, size_t n_samples, int sample_rate, int trim, float **y, size_t *n,
                         qt_error *err)
{
    if (sample_rate != QT_SAMPLE_RATE) {
        if (resample_24k(pcm, n_samples, sample_rate, y, n, err)) return -1;
    } else {
        if (!(*y = malloc(sizeof(float) * n_samples)))
            return qt_fail(err, QT_ERR_NOMEM, "out of memory copying the reference");
        memcpy(*y, pcm, sizeof(float) * n_samples);
        *n = n_samples;
    }
    if (trim) {
        *n = trailing_silence_end(*y, *n);
        if (*n < (size_t)QT_PROMPT_MIN_SECONDS * QT_SAMPLE_RATE)
            return qt_fail(
                err, QT_ERR_INVALID,
                "without its trailing silence the reference lasts %.2f s; a voice prompt needs at least %d s",
                (double)*n / QT_SAMPLE_RATE, QT_PROMPT_MIN_SECONDS);
    }
    return 0;
}

/* Step 4: the empty prompt for this model, with room for the x-vector. */
static qt_voice_prompt *prompt_new(const qt_model *m, int icl, int n_clipped, qt_error *err)
{
    int width = qt_model_hidden(m);
    assert(width > 0);
    qt_voice_prompt *vp = calloc(1, sizeof *vp);
    if (!vp || !(vp->xvector = malloc(sizeof(float) * (size_t)width))) {
        qt_prompt_free(vp);
        qt_fail(err, QT_ERR_NOMEM, "out of memory making a voice prompt");
        return NULL;
    }
    vp->mode = icl ? QT_PROMPT_ICL : QT_PROMPT_XVECTOR;
    snprintf(vp->size, sizeof vp->size, "%s", qt_model_size(m));
    vp->width = width;
    vp->n_clipped = n_clipped;
    return vp;
}

/* Step 5: the x-vector (§3.1): log-mel -> speaker encoder, which is made on first use and kept with the
 * model. */
static int speaker_xvector(qt_model *m, const float *y, size_t n, float *xvector, qt_prompt_timings *tm,
                           qt_error *err)
{
    double t0 = qt_now_ms();
    size_t T = qt_mel_frames(n);
    float *mel = NULL;
    qt_mel *mf = qt_mel_new(err);
    if (!mf) return -1;
    if (!(mel = malloc(sizeof(float) * T * QT_MEL_BANDS))) {
        qt_mel_free(mf);
        return qt_fail(err, QT_ERR_NOMEM, "out of memory for %zu mel frames", T);
    }
    int rc = qt_mel_compute(mf, y, n, mel, err);
    qt_mel_free(mf);
    if (rc) goto fail;
    tm->mel_ms = qt_now_ms() - t0;
    t0 = qt_now_ms();
    if (!m->spk && !(m->spk = qt_speaker_encoder_load(m->st, &m->cfg.speaker, err))) goto fail;
    if (qt_speaker_encoder_run(m->spk, m->pool, mel, (int)T, xvector, err)) goto fail;
    tm->speaker_ms = qt_now_ms() - t0;
    free(mel);
    return 0;
fail:
    free(mel);
    return -1;
}

/* Step 6, ICL only: the reference's codes (§3.2) and its transcript. */
static int reference_codes(qt_model *m, const float *y, size_t n, const char *ref_text, qt_voice_prompt *vp,
                           qt_prompt_timings *tm, qt_error *err)
{
    assert(m->codec && vp->mode == QT_PROMPT_ICL);
    double t0 = qt_now_ms();
    if (qt_codec_encode(m->codec, y, n, QT_SAMPLE_RATE, &vp->codes, &vp->n_frames, err)) return -1;
    tm->codec_ms = qt_now_ms() - t0;
    if (!(vp->ref_text = strdup(ref_text)))
        return qt_fail(err, QT_ERR_NOMEM, "out of memory making a voice prompt");
    return 0;
}

qt_voice_prompt *qt_prompt_create(qt_model *m, const float *pcm, size_t n_samples, int sample_rate,
                                  const char *ref_text, const qt_prompt_params *p, qt_error *err)
{
    qt_prompt_params dp = qt_prompt_default_params();
    if (!p) p = &dp;
    qt_prompt_timings tm = {0};
    qt_voice_prompt *vp = NULL;
    float *y = NULL; /* the reference at 24 kHz */
    size_t n = 0;
    int n_clipped = 0;

    if (check_request(m, pcm, n_samples, sample_rate, ref_text, err)) goto fail;
    if (check_samples(pcm, n_samples, &n_clipped, err)) goto fail;
    if (n_clipped)
        warn(p,
             "the reference clips (%d samples at full scale): the cloned voice will copy the distortion; "
             "record it quieter if you can",
             n_clipped);
    double t0 = qt_now_ms();
    if (reference_24k(pcm, n_samples, sample_rate, p->trim_trailing_silence, &y, &n, err)) goto fail;
    tm.resample_ms = qt_now_ms() - t0;
    if (!(vp = prompt_new(m, ref_text != NULL, n_clipped, err))) goto fail;
    if (speaker_xvector(m, y, n, vp->xvector, &tm, err)) goto fail;
    if (ref_text && reference_codes(m, y, n, ref_text, vp, &tm, err)) goto fail;

    if (p->timings) *p->timings = tm;
    free(y);
    return vp;
fail:
    free(y);
    qt_prompt_free(vp);
    return NULL;
}

/* ---- the file ---------------------------------------------------------------------------------------- */

int qt_prompt_serialize(const qt_voice_prompt *vp, uint8_t **out, size_t *out_size, qt_error *err)
{
    if (!vp || !vp->xvector || vp->width <= 0 || vp->width > MAX_WIDTH)
        return qt_fail(err, QT_ERR_INVALID, "voice prompt: no x-vector of a valid width to write");
    int icl = vp->mode == QT_PROMPT_ICL;
    if (vp->mode != QT_PROMPT_ICL && vp->mode != QT_PROMPT_XVECTOR)
        return qt_fail(err, QT_ERR_INVALID, "voice prompt: unknown mode %d", (int)vp->mode);
    size_t text = icl && vp->ref_text ? strlen(vp->ref_text) : 0;
    if (icl &&
        (!vp->codes || vp->n_frames < 1 || vp->n_frames > MAX_FRAMES || text < 1 || text > MAX_TEXT_BYTES))
        return qt_fail(
            err, QT_ERR_INVALID,
            "voice prompt: an ICL prompt needs 1-%d frames of codes and a transcript of 1-%d bytes",
            MAX_FRAMES, MAX_TEXT_BYTES);
    if (memchr(vp->size, 0, sizeof vp->size) == NULL)
        return qt_fail(err, QT_ERR_INVALID, "voice prompt: the size tag is not terminated");
    int frames = icl ? vp->n_frames : 0;
    size_t total = HEADER_BYTES + 4 * (size_t)vp->width + 4 * (size_t)frames * QT_CODEBOOKS + text + 4;
    uint8_t *b = calloc(1, total);
    if (!b) return qt_fail(err, QT_ERR_NOMEM, "out of memory writing a voice prompt");
    memcpy(b, MAGIC, 8);
    put_u32(b + 8, FORMAT_VERSION);
    memcpy(b + 12, vp->size, strlen(vp->size));
    put_u32(b + 20, (uint32_t)vp->width);
    put_u32(b + 24, (uint32_t)vp->mode);
    put_u32(b + 28, (uint32_t)frames);
    put_u32(b + 32, (uint32_t)text);
    uint8_t *q = b + HEADER_BYTES;
    for (int i = 0; i < vp->width; i++, q += 4) {
        uint32_t u;
        memcpy(&u, &vp->xvector[i], 4);
        put_u32(q, u);
    }
    for (size_t i = 0; i < (size_t)frames * QT_CODEBOOKS; i++, q += 4)
        put_u32(q, (uint32_t)vp->codes[i]);
    if (text) memcpy(q, vp->ref_text, text);
    q += text;
    put_u32(q, crc32_ieee(b, total - 4));
    *out = b, *out_size = total;
    return 0;
}

qt_voice_prompt *qt_prompt_parse(const uint8_t *b, size_t size, const char *label, const char *expect_size,
                                 int expect_width, qt_error *err)
{
    if (!label) label = "voice prompt";
    if (size < 8 || memcmp(b, MAGIC, 8)) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: not a voicebox voice prompt (no VBXVOICE magic)", label);
        return NULL;
    }
    if (size < HEADER_BYTES + 4) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: truncated: %zu bytes, shorter than the %d-byte header", label, size,
                HEADER_BYTES + 4);
        return NULL;
    }
    uint32_t version = get_u32(b + 8), width = get_u32(b + 20), mode = get_u32(b + 24),
             frames = get_u32(b + 28), text = get_u32(b + 32);
    if (version != FORMAT_VERSION) {
        qt_fail(err, QT_ERR_MISMATCH,
                "%s: prompt format version %u; this build reads version %u (make it again)", label, version,
                FORMAT_VERSION);
        return NULL;
    }
    char tag[8];
    memcpy(tag, b + 12, 8);
    size_t tag_len = strnlen(tag, 8);
    int tag_ok = tag_len >= 1 && tag_len < 8;
    for (size_t i = 0; i < 8; i++)
        tag_ok &= i < tag_len ? (tag[i] > ' ' && tag[i] < 0x7f) : tag[i] == 0;
    const char *bad = NULL;
    if (!tag_ok)
        bad = "its model size tag is not a short printable name";
    else if (width < 1 || width > MAX_WIDTH)
        bad = "its width is out of range";
    else if (mode > QT_PROMPT_XVECTOR)
        bad = "its mode is neither ICL (0) nor x-vector (1)";
    else if (mode == QT_PROMPT_ICL &&
             (frames < 1 || frames > MAX_FRAMES || text < 1 || text > MAX_TEXT_BYTES))
        bad = "an ICL prompt must hold 1-7500 frames and a 1-65536 byte transcript";
    else if (mode == QT_PROMPT_XVECTOR && (frames || text))
        bad = "an x-vector prompt must hold no frames and no transcript";
    else if (get_u32(b + 36))
        bad = "its reserved field is not zero";
    if (bad) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: damaged header (width %u, mode %u, %u frames, %u text bytes): %s",
                label, width, mode, frames, text, bad);
        return NULL;
    }
    uint64_t want = HEADER_BYTES + 4ull * width + 4ull * frames * QT_CODEBOOKS + text + 4;
    if (size != want) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: %s: %zu bytes where the header implies %llu", label,
                size < want ? "truncated" : "trailing bytes", size, (unsigned long long)want);
        return NULL;
    }
    uint32_t crc = crc32_ieee(b, size - 4), stored = get_u32(b + size - 4);
    if (crc != stored) {
        qt_fail(err, QT_ERR_CORRUPT,
                "%s: checksum mismatch (stored %08x, computed %08x): the file is damaged", label, stored,
                crc);
        return NULL;
    }
    if (expect_size && strcmp(tag, expect_size)) {
        qt_fail(err, QT_ERR_MISMATCH, "%s: made for the %s model, not %s", label, tag, expect_size);
        return NULL;
    }
    if (expect_width > 0 && (int)width != expect_width) {
        qt_fail(err, QT_ERR_MISMATCH, "%s: its x-vector is %u wide; this model needs %d", label, width,
                expect_width);
        return NULL;
    }
    const uint8_t *q = b + HEADER_BYTES;
    const uint8_t *txt = q + 4ull * width + 4ull * frames * QT_CODEBOOKS;
    if (qt_utf8_valid_prefix((const char *)txt, text) != text) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: the transcript is not valid UTF-8 (at byte %zu)", label,
                qt_utf8_valid_prefix((const char *)txt, text));
        return NULL;
    }
    qt_voice_prompt *vp = calloc(1, sizeof *vp);
    if (!vp || !(vp->xvector = malloc(4ull * width)) ||
        (frames && !(vp->codes = malloc(4ull * frames * QT_CODEBOOKS))) ||
        (text && !(vp->ref_text = malloc(text + 1)))) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory reading it", label);
        goto fail;
    }
    vp->mode = (qt_prompt_mode)mode;
    memcpy(vp->size, tag, sizeof vp->size);
    vp->width = (int)width;
    vp->n_frames = (int)frames;
    for (uint32_t i = 0; i < width; i++, q += 4) {
        uint32_t u = get_u32(q);
        memcpy(&vp->xvector[i], &u, 4);
        if (!isfinite(vp->xvector[i])) {
            qt_fail(err, QT_ERR_CORRUPT, "%s: x-vector value %u is not a finite number", label, i);
            goto fail;
        }
    }
    for (size_t i = 0; i < (size_t)frames * QT_CODEBOOKS; i++, q += 4) {
        uint32_t c = get_u32(q);
        if (c >= QT_CODEBOOK_SIZE) {
            qt_fail(err, QT_ERR_CORRUPT, "%s: code %u at frame %zu, codebook %zu is outside 0..%d", label, c,
                    i / QT_CODEBOOKS, i % QT_CODEBOOKS, QT_CODEBOOK_SIZE - 1);
            goto fail;
        }
        vp->codes[i] = (int32_t)c;
    }
    if (text) {
        memcpy(vp->ref_text, txt, text);
        vp->ref_text[text] = 0;
    }
    return vp;
fail:
    qt_prompt_free(vp);
    return NULL;
}

int qt_prompt_save(const qt_voice_prompt *vp, const char *path, qt_error *err)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (!path || !*path) return qt_fail(err, QT_ERR_INVALID, "voice prompt: no file name was given");
    if (qt_prompt_serialize(vp, &b, &n, err)) return -1;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(b);
        return qt_fail(err, QT_ERR_NOMEM, "out of memory writing %s", path);
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        qt_fail(err, QT_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        goto fail;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            qt_fail(err, QT_ERR_IO, "%s: write failed: %s", tmp, w < 0 ? strerror(errno) : "no progress");
            goto fail_fd;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) || fsync(fd)) {
        qt_fail(err, QT_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto fail_fd;
    }
    if (close(fd)) {
        fd = -1;
        qt_fail(err, QT_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (rename(tmp, path)) {
        qt_fail(err, QT_ERR_IO, "%s: cannot rename the temporary file over it: %s", path, strerror(errno));
        goto fail_unlink;
    }
    /* the rename itself is durable once the directory is synced */
    char *dcopy = strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dcopy);
    }
    free(tmp);
    free(b);
    return 0;
fail_fd:
    close(fd);
fail_unlink:
    unlink(tmp);
fail:
    free(tmp);
    free(b);
    return -1;
}

qt_voice_prompt *qt_prompt_load(const char *path, const char *expect_size, int expect_width, qt_error *err)
{
    if (!path || !*path) {
        qt_fail(err, QT_ERR_INVALID, "voice prompt: no file name was given");
        return NULL;
    }
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (and with it a take,
     * a cache clear, the shutdown); what is not a regular file is refused below, before any read */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        qt_fail(err, errno == ENOENT ? QT_ERR_NOT_FOUND : QT_ERR_IO, "%s: %s", path,
                errno == ENOENT ? "no such voice prompt file" : strerror(errno));
        return NULL;
    }
    struct stat st;
    uint8_t *b = NULL;
    qt_voice_prompt *vp = NULL;
    if (fstat(fd, &st)) {
        qt_fail(err, QT_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
        qt_fail(err, QT_ERR_CORRUPT, "%s: %s", path,
                S_ISREG(st.st_mode) ? "far larger than any voice prompt" : "not a regular file");
        goto done;
    }
    size_t n = (size_t)st.st_size, got = 0;
    if (!(b = malloc(n ? n : 1))) {
        qt_fail(err, QT_ERR_NOMEM, "%s: out of memory reading it", path);
        goto done;
    }
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            qt_fail(err, QT_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0) break; /* shrank meanwhile: parse what is there (it will be refused as truncated) */
        got += (size_t)r;
    }
    vp = qt_prompt_parse(b, got, path, expect_size, expect_width, err);
done:
    free(b);
    close(fd);
    return vp;
}
