/* test_cache_model_size.c — voice-prompt cache keys depend on the model size (issue 7's checklist).
 *
 * The keys are checked against md5sum(1) of the concatenated bytes, computed by a separate program,
 * so the test does not trust the code it checks. Its output ends with exactly the lines of the Voicebox fix's
 * testing checklist (issue 16 item 14). */
#include "studio/prompt_cache.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *REF_TEXT = "The quick brown fox jumps over the lazy dog.";

/* md5sum of (file bytes ‖ text ‖ size), via the shell's md5sum. */
static int md5sum_of(const char *audio_path, const char *text, const char *size, char out[33])
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "{ cat '%s'; printf '%%s' '%s'; printf '%%s' '%s'; } | md5sum", audio_path,
             text, size);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int ok = fscanf(p, "%32s", out) == 1;
    pclose(p);
    return ok ? 0 : -1;
}

/* The lines of the Voicebox fix's testing checklist, printed exactly as its script prints them. Its script
 * hashes an audio file that is not there (so no bytes) with this reference text; the two keys are md5 of
 * "This is a test reference text.1.7B" and "...0.6B", and they are checked, not just printed. */
static void checklist(void)
{
    const char *text = "This is a test reference text.";
    size_t n = 0;
    unsigned char *missing = read_file("/nonexistent/voicebox/test_audio.wav", &n); /* NULL, n = 0 */
    char k17[33], k06[33], k17b[33], kdef[33];
    studio_prompt_cache_key(missing, n, text, "1.7B", k17);
    studio_prompt_cache_key(missing, n, text, "0.6B", k06);
    studio_prompt_cache_key(missing, n, text, "1.7B", k17b);
    studio_prompt_cache_key(missing, n, text, NULL, kdef);
    int before = failures;
    CHECK(!strcmp(k17, "e945d48a7a466d509249990b5420a23a"),
          "checklist 1.7B key: expected e945d48a..., got %s", k17);
    CHECK(!strcmp(k06, "6342f863679f4c2c557755e6df44aa3e"),
          "checklist 0.6B key: expected 6342f863..., got %s", k06);
    CHECK(strcmp(k17, k06) && !strcmp(k17, k17b) && !strcmp(kdef, k17), "checklist keys: %s %s %s %s", k17,
          k06, k17b, kdef);
    printf("Cache key for 1.7B model: %s\n", k17);
    printf("Cache key for 0.6B model: %s\n", k06);
    if (failures != before) return;
    printf("[PASS] Cache keys are different for different model sizes\n");
    printf("[PASS] Cache keys are consistent for the same model size\n");
    printf("[PASS] Default model size is 1.7B\n");
}

int main(void)
{
    const char *golden = getenv("VOICEBOX_GOLDEN_DIR");
    char audio_path[1024];
    if (!golden || !*golden) {
        printf("SKIP: VOICEBOX_GOLDEN_DIR not set (needs audio/ref_24k.wav)\n");
        return 77;
    }
    snprintf(audio_path, sizeof audio_path, "%s/audio/ref_24k.wav", golden);
    size_t n = 0;
    unsigned char *audio = read_file(audio_path, &n);
    if (!audio) {
        printf("SKIP: cannot read %s\n", audio_path);
        return 77;
    }

    /* this test's own checks, on a real recording */
    char k17[33], k06[33], k17b[33], kdef[33], want17[33], want06[33];
    studio_prompt_cache_key(audio, n, REF_TEXT, "1.7B", k17);
    studio_prompt_cache_key(audio, n, REF_TEXT, "0.6B", k06);
    studio_prompt_cache_key(audio, n, REF_TEXT, "1.7B", k17b);
    studio_prompt_cache_key(audio, n, REF_TEXT, NULL, kdef);
    free(audio);
    printf("ref_24k.wav: 1.7B key %s, 0.6B key %s\n", k17, k06);
    if (md5sum_of(audio_path, REF_TEXT, "1.7B", want17) != 0 ||
        md5sum_of(audio_path, REF_TEXT, "0.6B", want06) != 0) {
        printf("[FAIL] could not run md5sum\n");
        return 1;
    }
    CHECK(!strcmp(k17, want17) && !strcmp(k06, want06),
          "keys differ from md5sum: 1.7B expected %s got %s; 0.6B expected %s got %s", want17, k17, want06,
          k06);
    CHECK(strcmp(k17, k06) != 0, "keys are equal for 1.7B and 0.6B: %s", k17);
    CHECK(!strcmp(k17, k17b), "two keys for 1.7B differ: %s vs %s", k17, k17b);
    CHECK(!strcmp(kdef, k17), "the default key %s is not the 1.7B key %s", kdef, k17);
    if (!failures) printf("ref_24k.wav: keys equal md5sum(audio bytes + text + model size)\n");

    checklist();
    if (failures) return 1;
    printf("[SUCCESS] All cache key tests passed!\n");
    return 0;
}
