/* fuzz_bpe.c — libFuzzer target for qt_tokenize on the real Qwen3 vocabulary (the golden tiny-a files, from
 * $VOICEBOX_GOLDEN_DIR or ../shared/golden beside the checkout): any byte string either tokenizes to ids that
 * decode back to its NFC form, or is refused as invalid UTF-8 with a message; the scan and heap merge loops
 * agree on its first 48 bytes. Never a crash, leak or out-of-bounds read. */
#include "engine/bpe.h"
#include "engine/qt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static qt_tokenizer *tok;

static void free_tok(void)
{
    qt_tokenizer_free(tok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *golden = getenv("VOICEBOX_GOLDEN_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tiny-a", golden && *golden ? golden : "../shared/golden");
    qt_error err = {0};
    tok = qt_tokenizer_load(dir, &err);
    if (!tok) {
        printf("fuzz_bpe: no golden vocabulary (%s): nothing to fuzz\n", err.msg);
        exit(0);
    }
    atexit(free_tok);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0; /* a C string: it ends at the first NUL */
    int32_t *ids = NULL;
    size_t n = 0;
    qt_error err = {0};
    if (qt_tokenize(tok, text, &ids, &n, &err)) {
        if (err.kind != QT_ERR_INVALID || strncmp(err.msg, "text: invalid UTF-8 at byte ", 28))
            abort(); /* the only refusal is bad UTF-8 */
    } else {
        char *back = qt_detokenize(tok, ids, n, &err);
        char *nfc = (char *)utf8proc_NFC((const utf8proc_uint8_t *)text);
        if (!back || !nfc || strcmp(back, nfc)) abort();
        free(back);
        free(nfc);
    }
    free(ids);

    size_t len = strlen(text) < 48 ? strlen(text) : 48;
    int32_t a[48], b[48];
    int na = bpe_merge_piece(tok, (const uint8_t *)text, len, a, BPE_MERGE_SCAN);
    int nb = bpe_merge_piece(tok, (const uint8_t *)text, len, b, BPE_MERGE_HEAP);
    if (na != nb || (na > 0 && memcmp(a, b, (size_t)na * sizeof *a))) abort();
    free(text);
    return 0;
}
