/* rules.c — the tables behind rules.h. The lists for messages are built from the tables once, so they
 * cannot drift from them. */
#include "studio/rules.h"
#include "engine/qt.h" /* the languages: the engine's one list (qt_language_code) */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The first row is the default model. */
static const studio_model models[] = {
    {"qwen-tts-1.7B", "1.7B", "Qwen/Qwen3-TTS-12Hz-1.7B-Base", "Qwen TTS 1.7B", 0},
    {"qwen-tts-0.6B", "0.6B", "Qwen/Qwen3-TTS-12Hz-0.6B-Base", "Qwen TTS 0.6B", 0},
    /* Voicebox's Whisper names; whisper-large is large-v3 (128 mel bins), whisper-turbo its 4-layer decoder
     */
    {"whisper-base", "base", "openai/whisper-base", "Whisper Base", 1},
    {"whisper-small", "small", "openai/whisper-small", "Whisper Small", 1},
    {"whisper-medium", "medium", "openai/whisper-medium", "Whisper Medium", 1},
    {"whisper-large", "large", "openai/whisper-large-v3", "Whisper Large", 1},
    {"whisper-turbo", "turbo", "openai/whisper-large-v3-turbo", "Whisper Turbo", 1},
};
#define N_TTS_MODELS 2 /* the TTS rows come first */
#define N_MODELS (sizeof models / sizeof models[0])
_Static_assert(N_MODELS == STUDIO_N_MODELS, "STUDIO_N_MODELS must count the rows of models[]");

size_t studio_language_count(void)
{
    size_t n = 0;
    while (qt_language_code(n, NULL))
        n++;
    return n;
}

const char *studio_language_at(size_t i)
{
    return qt_language_code(i, NULL);
}

int studio_language_valid(const char *code)
{
    const char *c;
    for (size_t i = 0; code && (c = qt_language_code(i, NULL)); i++)
        if (!strcmp(code, c)) return 1;
    return 0;
}

size_t studio_model_count(void)
{
    return N_MODELS;
}

const studio_model *studio_model_at(size_t i)
{
    return i < N_MODELS ? &models[i] : NULL;
}

const studio_model *studio_model_find(const char *key)
{
    for (size_t i = 0; key && i < N_MODELS; i++)
        if (!strcmp(key, models[i].name) || !strcmp(key, models[i].size) || !strcmp(key, models[i].repo_id))
            return &models[i];
    return NULL;
}

const studio_model *studio_model_default(void)
{
    return &models[0];
}

static char language_list[128], size_list[64], name_list[256];
static pthread_once_t lists_once = PTHREAD_ONCE_INIT;

static void join(char *out, size_t size, const char *sep, const char *last_sep, size_t n,
                 const char *(*item)(size_t))
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s",
                                i == 0       ? ""
                                : i + 1 == n ? last_sep
                                             : sep,
                                item(i));
}

static const char *model_size_at(size_t i)
{
    return models[i].size;
}

static const char *model_name_at(size_t i)
{
    return models[i].name;
}

static void build_lists(void)
{
    join(language_list, sizeof language_list, ", ", ", ", studio_language_count(), studio_language_at);
    join(size_list, sizeof size_list, ", ", " or ", N_TTS_MODELS, model_size_at);
    join(name_list, sizeof name_list, ", ", ", ", N_MODELS, model_name_at);
}

const char *studio_language_list(void)
{
    pthread_once(&lists_once, build_lists);
    return language_list;
}

const char *studio_model_size_list(void)
{
    pthread_once(&lists_once, build_lists);
    return size_list;
}

const char *studio_model_name_list(void)
{
    pthread_once(&lists_once, build_lists);
    return name_list;
}
