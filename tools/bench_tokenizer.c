/* bench_tokenizer.c — load time and single-core throughput of the BPE tokenizer (bpe.c).
 *
 *   bench_tokenizer [--model DIR|REPO] [--mb N] [--text FILE] [--repeat R]
 *
 * The default text is N MB (4) of seeded random mixed multilingual prose: English, German, French, Russian,
 * Chinese, Japanese, Korean, Arabic, Hindi, Vietnamese, with numbers, punctuation, emoji and newlines, cut
 * into utterance-sized strings (~200 bytes) as the studio sends them. Prints load time (best of 3) and MB/s
 * (best of R runs), by wall time and by this thread's CPU time. The model defaults to
 * $VOICEBOX_GOLDEN_DIR/tiny-a (real Qwen3 vocab) else the 1.7B repo id.
 */
#include "engine/qt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this thread: on a shared machine it says what the code costs when wall time cannot. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *const en[] = {
    "the",     "voice",    "model",  "speaks", "quickly",   "and",       "clearly",   "about", "weather",
    "today",   "tomorrow", "people", "studio", "reads",     "a",         "short",     "story", "with",
    "feeling", "we're",    "didn't", "it's",   "wonderful", "recording", "microphone"};
static const char *const de[] = {"die",      "Stimme",  "klingt", "natürlich", "und",    "schön",
                                 "Größe",    "Übermut", "Straße", "heute",     "morgen", "wir",
                                 "sprechen", "über",    "Wetter", "Zürich"};
static const char *const fr[] = {"la",       "voix",        "est",   "très",   "naturelle", "où",
                                 "est",      "l'hôtel",     "crème", "brûlée", "déjà",      "vu",
                                 "français", "aujourd'hui", "été",   "garçon"};
static const char *const ru[] = {"голос", "звучит",  "очень", "естественно", "сегодня", "завтра",
                                 "мы",    "говорим", "о",     "погоде",      "привет",  "мир",
                                 "съешь", "ещё",     "этих",  "булок"};
static const char *const zh[] = {"今天", "天气", "很好", "我们",   "去",   "公园",   "散步", "声音",
                                 "模型", "可以", "说话", "阿里云", "开源", "大模型", "合成", "语音"};
static const char *const ja[] = {"今日", "は",   "いい",     "天気",     "です", "ね",   "東京",   "日本",
                                 "の",   "首都", "カタカナ", "ひらがな", "音声", "合成", "モデル", "話す"};
static const char *const ko[] = {"안녕하세요", "세계", "오늘",   "날씨",   "가",   "좋네요",      "음성",
                                 "합성",       "모델", "한국어", "텍스트", "변환", "테스트입니다"};
static const char *const ar[] = {"مرحبا", "بالعالم", "الصوت", "طبيعي", "جدا", "اليوم",
                                 "الطقس", "جميل",    "نحن",   "نتحدث", "عن"};
static const char *const hi[] = {"नमस्ते", "दुनिया", "आवाज़", "बहुत", "स्वाभाविक", "है", "आज",
                                 "मौसम", "अच्छा",  "हम",   "बात", "करते",      "हैं"};
static const char *const vi[] = {"Tiếng", "Việt", "xin",   "chào", "thế", "giới", "giọng", "nói",
                                 "rất",   "tự",   "nhiên", "hôm",  "nay", "trời", "đẹp"};
static const char *const extra[] = {
    ",",     ".",     "!",       "?",          " —",      ":",
    ";",     "…",     " 😀",      " 👍🏽",  " ❤️", " 👨‍👩‍👧",
    "\n",    "\n\n",  " (",      ")",          " \"",     "\"",
    " 2025", " 3.14", " €12.50", " 1,000,000", " 42%",    " https://example.org/a?b=1"};

typedef struct {
    const char *const *w;
    int n;
    const char *space; /* between words: Chinese and Japanese run words together */
} lang;

#define L(a, sp)                                                                                             \
    {                                                                                                        \
        a, (int)(sizeof a / sizeof *a), sp                                                                   \
    }
static const lang langs[] = {L(en, " "), L(de, " "), L(fr, " "), L(ru, " "), L(zh, ""),
                             L(ja, ""),  L(ko, " "), L(ar, " "), L(hi, " "), L(vi, " ")};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

/* Appends one utterance of ~200 bytes in a random language (sometimes two) to buf. */
static size_t make_utterance(char *buf, size_t cap)
{
    size_t n = 0;
    const lang *l = &langs[rnd(sizeof langs / sizeof *langs)];
    while (n < 200 && n + 64 < cap) {
        if (rnd(12) == 0) l = &langs[rnd(sizeof langs / sizeof *langs)];
        const char *w = rnd(6) == 0 ? extra[rnd(sizeof extra / sizeof *extra)] : l->w[rnd((uint32_t)l->n)];
        const char *sp = n && w[0] != ' ' && w[0] != ',' && w[0] != '.' && w[0] != '\n' ? l->space : "";
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", sp, w);
    }
    buf[n] = 0;
    return n;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *text_file = NULL;
    double mb = 4;
    int repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = atof(argv[++i]);
        else if (!strcmp(argv[i], "--text") && i + 1 < argc)
            text_file = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_tokenizer [--model DIR|REPO] [--mb N] [--text FILE] [--repeat R]\n");
            return 2;
        }
    }
    char golden_model[4096];
    const char *golden = getenv("VOICEBOX_GOLDEN_DIR");
    if (!model && golden && *golden) {
        snprintf(golden_model, sizeof golden_model, "%s/tiny-a", golden);
        model = golden_model;
    }
    if (!model) model = "Qwen/Qwen3-TTS-12Hz-1.7B-Base";
    qt_error err = {0};
    char dir[4096];
    if (qt_resolve_model_dir(model, dir, sizeof dir, &err)) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
        return 1;
    }

    double best_load = 1e9, best_load_cpu = 1e9;
    qt_tokenizer *t = NULL;
    for (int i = 0; i < 3; i++) {
        qt_tokenizer_free(t);
        double t0 = (qt_now_ms() / 1e3), c0 = cpu_s();
        t = qt_tokenizer_load(dir, &err);
        double dt = (qt_now_ms() / 1e3) - t0, dc = cpu_s() - c0;
        if (!t) {
            fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
            return 1;
        }
        if (dt < best_load) best_load = dt;
        if (dc < best_load_cpu) best_load_cpu = dc;
    }

    /* the text: a list of NUL-separated utterances */
    size_t cap = (size_t)(mb * 1e6) + 4096, n = 0, n_utt = 0;
    char *text = malloc(cap + 1);
    if (!text) return 1;
    if (text_file) {
        FILE *f = fopen(text_file, "rb");
        if (!f) {
            fprintf(stderr, "bench_tokenizer: cannot open %s\n", text_file);
            return 1;
        }
        n = fread(text, 1, cap, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) /* one utterance per line */
            if (text[i] == '\n' || text[i] == 0) {
                text[i] = 0;
                n_utt++;
            }
        text[n++] = 0;
        n_utt++;
    } else {
        while (n + 300 < cap) {
            n += make_utterance(text + n, cap - n) + 1;
            n_utt++;
        }
    }

    double best = 1e9, best_cpu = 1e9;
    size_t total_ids = 0;
    for (int r = 0; r < repeat; r++) {
        total_ids = 0;
        double t0 = (qt_now_ms() / 1e3), c0 = cpu_s();
        for (size_t off = 0; off < n;) {
            const char *s = text + off;
            size_t len = strlen(s);
            int32_t *ids;
            size_t k;
            if (qt_tokenize(t, s, &ids, &k, &err)) {
                fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
                return 1;
            }
            total_ids += k;
            free(ids);
            off += len + 1;
        }
        double dt = (qt_now_ms() / 1e3) - t0, dc = cpu_s() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    printf("model            %s\n", dir);
    printf("load             %.1f ms wall, %.1f ms CPU (vocab %d ids, best of 3)\n", best_load * 1e3,
           best_load_cpu * 1e3, qt_tokenizer_n_ids(t));
    printf("text             %.2f MB in %zu utterances (%s), %zu ids, %.2f bytes/id\n", n / 1e6, n_utt,
           text_file ? text_file : "mixed multilingual, seeded", total_ids, (double)n / (double)total_ids);
    printf("throughput       %.2f MB/s on one core by wall time, %.2f MB/s per CPU second (best of %d)\n",
           n / 1e6 / best, n / 1e6 / best_cpu, repeat);
    qt_tokenizer_free(t);
    free(text);
    return 0;
}
