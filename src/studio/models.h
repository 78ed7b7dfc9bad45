/* models.h — the TTS models voicebox knows, whether each is in the Hugging Face cache, and their downloads.
 *
 * A model is "downloaded" when the Hub cache holds a complete snapshot for it (every file of the release,
 * see hub_download.h) that the engine's qt_resolve_model_dir() finds. Downloads run on the caller's thread
 * (studio_models_download, for the CLI) or on a background thread (studio_models_download_start, for the
 * server), one per model at a time; the progress of either can be polled or waited on from any thread.
 * No HTTP routes here: the server maps these calls and their studio_error kinds to responses.
 */
#ifndef VOICEBOX_MODELS_H
#define VOICEBOX_MODELS_H

#include "studio/rules.h" /* studio_model: the models voicebox knows */
#include "studio/studio.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    STUDIO_DL_IDLE = 0, /* no download started in this process */
    STUDIO_DL_DOWNLOADING,
    STUDIO_DL_COMPLETE,
    STUDIO_DL_ERROR,
} studio_dl_status;

const char *studio_dl_status_name(studio_dl_status s); /* "idle", "downloading", "complete", "error" */

typedef struct {
    studio_dl_status status;
    uint64_t current, total; /* bytes; total is 0 until the file list is known */
    char filename[256];      /* file in flight, "" between files */
    char error[512];         /* the failure, for STUDIO_DL_ERROR */
    uint64_t seq;            /* grows with every change, so a poller can tell a new state from an old one */
} studio_model_progress;

/* Called on the downloading thread; keep it quick. */
typedef void (*studio_model_progress_fn)(const char *model_name, uint64_t current, uint64_t total,
                                         const char *filename, studio_dl_status status, void *user);

typedef struct {
    int downloaded;        /* a complete snapshot that qt_resolve_model_dir resolves; for a TTS model also one
                              that refs/main names but that is damaged (then damaged is set) */
    int damaged;           /* a TTS model whose files fail qt_model_check (truncated weights, a config that
                              does not parse, a missing file): it cannot load; a download repairs it */
    char problem[512];     /* what is wrong when damaged, naming the file */
    int downloading;       /* a download runs, in this process or another */
    uint64_t size_on_disk; /* bytes of the model's blobs in the cache, partial ones included */
    char path[1024];       /* the snapshot dir when downloaded, else "" */
    char cache_dir[1024];  /* <hub cache>/models--Org--Name, whether it exists or not */
} studio_model_state;

typedef struct studio_models studio_models;

studio_models *studio_models_new(void);
/* Cancels running downloads and waits for their threads. NULL is fine. */
void studio_models_free(studio_models *ms);

/* ms may be NULL (the CLI): then only the cache and its lock are looked at. */
int studio_models_state(studio_models *ms, const studio_model *m, studio_model_state *out, studio_error *err);

/* Blocking. Returns 0 at once, without the network, when the model is already downloaded and not damaged; a
 * damaged model is repaired (every file checked against its checksum, the bad ones fetched again). fn may be
 * NULL. STUDIO_CONFLICT when a download of the model is already running. */
int studio_models_download(studio_models *ms, const studio_model *m, studio_model_progress_fn fn, void *user,
                           studio_error *err);

/* Starts the download on a background thread and returns; STUDIO_CONFLICT when one is already running.
 * Follow it with studio_models_progress / studio_models_progress_wait. */
int studio_models_download_start(studio_models *ms, const studio_model *m, studio_error *err);

void studio_models_progress(studio_models *ms, const studio_model *m, studio_model_progress *out);
/* Waits up to timeout_ms for a state newer than after_seq; returns 1 if one came, 0 on timeout. */
int studio_models_progress_wait(studio_models *ms, const studio_model *m, uint64_t after_seq, int timeout_ms,
                                studio_model_progress *out);

/* Removes the model's cache folder. STUDIO_NOT_FOUND when not in the cache, STUDIO_CONFLICT while it
 * downloads. ms may be NULL. */
int studio_models_delete(studio_models *ms, const studio_model *m, studio_error *err);

#endif
