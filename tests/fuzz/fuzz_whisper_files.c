/* fuzz_whisper_files.c — libFuzzer target for what a Whisper release's text files reach: the first byte picks
 *   0  config.json             -> wh_config_parse (a shape is accepted only within its bounds)
 *   1  generation_config.json  -> wh_generation_config_parse
 *   2  tokenizer.json          -> qt_tokenizer_load (the GPT-2 ByteLevel form Whisper repos ship, or any
 *                                 other), then a tokenize/decode round trip on a fixed text
 *   3  text                    -> qt_tokenize on the real Whisper vocabulary (tests/data/whisper/model-80),
 *                                 whose ids must decode back to the text
 * and the rest is the file. Never a crash, leak or out-of-bounds read; a refusal always has a message. */
#include "engine/qt.h"
#include "whisper/wh_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static qt_tokenizer *whisper_tok;
static char tmp_path[64];

static void cleanup(void)
{
    qt_tokenizer_free(whisper_tok);
    unlink(tmp_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash + 1 : dir, sizeof dir - (size_t)(slash ? slash + 1 - dir : 0),
             "../data/whisper/model-80");
    qt_error err = {0};
    if (!(whisper_tok = qt_tokenizer_load(dir, &err))) {
        printf("fuzz_whisper_files: %s\n", err.msg);
        exit(1);
    }
    snprintf(tmp_path, sizeof tmp_path, "/tmp/fuzz_whisper_%d.json", (int)getpid());
    atexit(cleanup);
    return 0;
}

static void must_have_message(const char *msg)
{
    if (!msg[0]) {
        fprintf(stderr, "a refusal without a message\n");
        abort();
    }
}

static void round_trip(const qt_tokenizer *t, const char *text, int must_match)
{
    int32_t *ids = NULL;
    size_t n = 0;
    qt_error err = {0};
    if (qt_tokenize(t, text, &ids, &n, &err)) {
        must_have_message(err.msg);
        return;
    }
    char *back = qt_detokenize(t, ids, n, &err);
    if (must_match && (!back || strcmp(back, text))) {
        fprintf(stderr, "\"%s\" came back as \"%s\"\n", text, back ? back : err.msg);
        abort();
    }
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    wh_error err = {0};
    switch (data[0] % 4) {
    case 0: {
        wh_config c;
        if (wh_config_parse(body, n, "config.json", &c, &err))
            must_have_message(err.msg);
        else if (c.n_audio_ctx != 1500 || c.d % c.n_audio_heads || c.d % c.n_text_heads ||
                 c.n_vocab > (1 << 20))
            abort();
        break;
    }
    case 1: {
        int32_t *list = NULL;
        int k = 0;
        if (wh_generation_config_parse(body, n, "generation_config.json", &list, &k, &err))
            must_have_message(err.msg);
        for (int i = 0; i < k; i++)
            if (list[i] < 0) abort();
        free(list);
        break;
    }
    case 2: {
        FILE *f = fopen(tmp_path, "wb");
        if (!f) return 0;
        fwrite(body, 1, n, f);
        fclose(f);
        qt_error qe = {0};
        qt_tokenizer *t = qt_tokenizer_load(tmp_path, &qe);
        if (!t) {
            must_have_message(qe.msg);
            break;
        }
        round_trip(t, " hello<|endoftext|> world", 0);
        qt_tokenizer_free(t);
        break;
    }
    default: {
        char *text = malloc(n + 1);
        if (!text) return 0;
        memcpy(text, body, n);
        text[n] = 0; /* a C string: it ends at the first NUL */
        round_trip(whisper_tok, text, 1);
        free(text);
        break;
    }
    }
    return 0;
}
