/* test_cache_model_size.c — voice-prompt cache keys depend on the model size (issue 7's checklist).
 *
 * The keys are checked against md5sum(1) of the concatenated bytes, computed by a separate program,
 * so the test does not trust the code it checks. */
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
    snprintf(cmd, sizeof cmd, "{ cat '%s'; printf '%%s' '%s'; printf '%%s' '%s'; } | md5sum", audio_path, text,
             size);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int ok = fscanf(p, "%32s", out) == 1;
    pclose(p);
    return ok ? 0 : -1;
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

    char k17[33], k06[33], k17b[33], kdef[33], want17[33], want06[33];
    studio_prompt_cache_key(audio, n, REF_TEXT, "1.7B", k17);
    studio_prompt_cache_key(audio, n, REF_TEXT, "0.6B", k06);
    studio_prompt_cache_key(audio, n, REF_TEXT, "1.7B", k17b);
    studio_prompt_cache_key(audio, n, REF_TEXT, NULL, kdef);
    free(audio);
    printf("Cache key for 1.7B model: %s\n", k17);
    printf("Cache key for 0.6B model: %s\n", k06);

    if (md5sum_of(audio_path, REF_TEXT, "1.7B", want17) != 0 || md5sum_of(audio_path, REF_TEXT, "0.6B", want06) != 0) {
        printf("[FAIL] could not run md5sum\n");
        return 1;
    }
    if (strcmp(k17, want17) || strcmp(k06, want06)) {
        printf("[FAIL] keys differ from md5sum: 1.7B expected %s got %s; 0.6B expected %s got %s\n", want17, k17,
               want06, k06);
        failures++;
    } else {
        printf("[PASS] Cache keys equal md5sum of audio bytes + text + model size\n");
    }
    if (strcmp(k17, k06) != 0) {
        printf("[PASS] Cache keys are different for different model sizes\n");
    } else {
        printf("[FAIL] Cache keys are equal for 1.7B and 0.6B: %s\n", k17);
        failures++;
    }
    if (strcmp(k17, k17b) == 0) {
        printf("[PASS] Cache keys are consistent for the same model size\n");
    } else {
        printf("[FAIL] two keys for 1.7B differ: %s vs %s\n", k17, k17b);
        failures++;
    }
    if (strcmp(kdef, k17) == 0) {
        printf("[PASS] Default model size is 1.7B\n");
    } else {
        printf("[FAIL] default key %s is not the 1.7B key %s\n", kdef, k17);
        failures++;
    }
    if (failures)
        return 1;
    printf("[SUCCESS] All cache key tests passed!\n");
    return 0;
}
