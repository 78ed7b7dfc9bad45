/* prompt_cache.c — see prompt_cache.h. */
#include "studio/prompt_cache.h"

#include "audio/audio.h"
#include "studio/log.h"
#include "studio/rules.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void studio_prompt_cache_key(const void *audio, size_t audio_size, const char *ref_text,
                             const char *model_size, char key[33])
{
    if (!model_size) model_size = studio_model_default()->size;
    if (!ref_text) ref_text = "";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    EVP_DigestUpdate(ctx, audio, audio_size);
    EVP_DigestUpdate(ctx, ref_text, strlen(ref_text));
    EVP_DigestUpdate(ctx, model_size, strlen(model_size));
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 16; i++)
        snprintf(key + 2 * i, 3, "%02x", digest[i]);
}

/* ---- the cache ---- */

#define MEMORY_ENTRIES 32 /* prompts are small (codes + one embedding); LRU beyond this */

typedef struct {
    char key[33];
    qt_voice_prompt *vp;
    unsigned long last_used;
} entry;

/* mu guards the entries, never held while a prompt is made: a clear during a take only waits for a table
 * walk. The prompt a take uses is pinned; a clear or an eviction meanwhile leaves it to the release. */
struct studio_prompt_cache {
    char *dir;
    pthread_mutex_t mu;
    entry entries[MEMORY_ENTRIES];
    unsigned long clock;
    const qt_voice_prompt *pinned; /* handed out by get, not yet released */
    qt_voice_prompt *orphan;       /* the pinned prompt, dropped from the table meanwhile: freed on release */
};

studio_prompt_cache *studio_prompt_cache_new(const char *dir)
{
    studio_prompt_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->dir = strdup(dir);
    if (!c->dir) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    mkdir(dir, 0755);
    return c;
}

/* Frees vp unless a take holds it; then it is freed when released. mu held. */
static void drop(studio_prompt_cache *c, qt_voice_prompt *vp)
{
    if (vp && vp == c->pinned)
        c->orphan = vp;
    else
        qt_prompt_free(vp);
}

static void drop_all(studio_prompt_cache *c)
{
    for (int i = 0; i < MEMORY_ENTRIES; i++) {
        drop(c, c->entries[i].vp);
        memset(&c->entries[i], 0, sizeof c->entries[i]);
    }
}

void studio_prompt_cache_free(studio_prompt_cache *c)
{
    if (!c) return;
    c->pinned = NULL;
    drop_all(c);
    qt_prompt_free(c->orphan);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c);
}

void studio_prompt_cache_release(studio_prompt_cache *c, const qt_voice_prompt *vp)
{
    if (!vp) return;
    pthread_mutex_lock(&c->mu);
    if (c->orphan && c->orphan == vp) {
        qt_prompt_free(c->orphan);
        c->orphan = NULL;
    }
    if (c->pinned == vp) c->pinned = NULL;
    pthread_mutex_unlock(&c->mu);
}

static entry *find(studio_prompt_cache *c, const char *key)
{
    for (int i = 0; i < MEMORY_ENTRIES; i++)
        if (c->entries[i].vp && !strcmp(c->entries[i].key, key)) return &c->entries[i];
    return NULL;
}

/* Stores vp (replacing an entry of the same key, else the least recently used) and pins it. */
static const qt_voice_prompt *remember(studio_prompt_cache *c, const char *key, qt_voice_prompt *vp)
{
    pthread_mutex_lock(&c->mu);
    entry *slot = find(c, key);
    for (int i = 0; !slot && i < MEMORY_ENTRIES; i++) {
        if (!c->entries[i].vp) {
            slot = &c->entries[i];
            break;
        }
    }
    if (!slot) {
        slot = &c->entries[0];
        for (int i = 0; i < MEMORY_ENTRIES; i++)
            if (c->entries[i].last_used < slot->last_used) slot = &c->entries[i];
    }
    drop(c, slot->vp);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->vp = vp;
    slot->last_used = ++c->clock;
    c->pinned = vp;
    pthread_mutex_unlock(&c->mu);
    return vp;
}

/* A cached prompt must have been made for exactly this model's size and width. */
static int fits(const qt_voice_prompt *vp, const qt_model *m)
{
    return vp->width == qt_model_hidden(m) && !strcmp(vp->size, qt_model_size(m));
}

const qt_voice_prompt *studio_prompt_cache_get(studio_prompt_cache *c, qt_model *m, const char *size,
                                               const void *wav, size_t wav_size, const char *ref_text,
                                               int *hit, qt_error *err)
{
    char key[33], path[4096];
    studio_prompt_cache_key(wav, wav_size, ref_text, size, key);
    snprintf(path, sizeof path, "%s/%s.prompt", c->dir, key);
    *hit = 0;

    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key);
    if (e && fits(e->vp, m)) {
        e->last_used = ++c->clock;
        c->pinned = e->vp;
        pthread_mutex_unlock(&c->mu);
        *hit = 1;
        log_info("Using cached voice prompt for %s model", size);
        return c->pinned;
    }
    if (e) { /* same key but another model: never feed it across sizes */
        drop(c, e->vp);
        memset(e, 0, sizeof *e);
    }
    pthread_mutex_unlock(&c->mu);

    qt_error ferr = {0};
    qt_voice_prompt *vp = qt_prompt_load(path, qt_model_size(m), qt_model_hidden(m), &ferr);
    if (vp) {
        *hit = 1;
        log_info("Using cached voice prompt for %s model", size);
        return remember(c, key, vp);
    }
    if (ferr.kind != QT_ERR_NOT_FOUND) {
        log_warn("Ignoring cached voice prompt %s.prompt (%s); rebuilding it", key, ferr.msg);
        remove(path);
    }

    log_info("Creating voice prompt (not cached)...");
    audio_buf ref = {0};
    audio_error aerr;
    if (audio_decode_memory(wav, wav_size, QT_SAMPLE_RATE, &ref, &aerr) != 0) {
        qt_fail(err, QT_ERR_CORRUPT, "reference audio: %s", aerr.msg);
        return NULL;
    }
    vp = qt_prompt_create(m, ref.samples, ref.n, QT_SAMPLE_RATE, ref_text, NULL, err);
    audio_buf_free(&ref);
    if (!vp) return NULL;
    qt_error serr = {0};
    if (qt_prompt_save(vp, path, &serr) != 0)
        log_warn("Could not store voice prompt %s.prompt: %s", key, serr.msg);
    return remember(c, key, vp);
}

int studio_prompt_cache_clear(studio_prompt_cache *c)
{
    pthread_mutex_lock(&c->mu);
    drop_all(c);
    pthread_mutex_unlock(&c->mu);
    DIR *d = opendir(c->dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    int deleted = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 8 || strcmp(de->d_name + len - 7, ".prompt") != 0) continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
        /* lstat, never following or opening: whatever sits at a .prompt name goes, a folder stays */
        if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) == 0) deleted++;
    }
    closedir(d);
    return deleted;
}
