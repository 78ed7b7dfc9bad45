/* hub_download.h — fetch a Hugging Face model repo into the Hub cache, the way huggingface_hub lays it out.
 *
 *   <cache>/models--Org--Name/blobs/<etag>              file contents, named by the Hub's etag
 *   <cache>/models--Org--Name/blobs/<etag>.incomplete   while in flight; a later run resumes from its size
 *   <cache>/models--Org--Name/snapshots/<commit>/<path> relative symlink to ../../blobs/<etag>
 *   <cache>/models--Org--Name/refs/main                 the commit (written last, once every file is there)
 *
 * File list from GET {endpoint}/api/models/{repo}/revision/{rev}; each file's metadata from a HEAD on
 * {endpoint}/{repo}/resolve/{commit}/{path} (X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size or
 * Content-Length, Location for LFS redirects), then a GET with Range when resuming. A blob is checked before
 * it is renamed into place: size always, sha256 when the etag is one (LFS files), the git blob sha1 when the
 * etag is one (small files). One download per repo at a time, across processes (flock on
 * <cache>/.locks/models--Org--Name/voicebox.lock).
 *
 * Never touches the network when the snapshot for refs/main is already complete. Blocking; thread-safe
 * (no shared state except libcurl's global init, done once).
 */
#ifndef VOICEBOX_HUB_DOWNLOAD_H
#define VOICEBOX_HUB_DOWNLOAD_H

#include "studio/studio.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *cache_dir; /* NULL: qt_hub_cache_dir() (engine/qt.h), the one resolver */
    /* Called often while bytes arrive (and once per finished file): bytes done over the whole repo so far,
     * the total (0 until the file list is known) and the file in flight. */
    void (*progress)(void *user, uint64_t current, uint64_t total, const char *filename);
    void *user;
    atomic_int
        *cancel; /* NULL, or set to nonzero from another thread to stop (STUDIO_INTERNAL "cancelled") */
    int repair;  /* a complete snapshot is not trusted: every blob already there is checked against its
                    digest (size and sha256 or git sha1) and fetched again when it does not match */
} studio_hub_params;

studio_hub_params studio_hub_default_params(void);

/* 1 when refs/main names a snapshot that holds a loadable Qwen3-TTS release (config.json, the model weights
 * and speech_tokenizer/{config.json,model.safetensors}, every link resolving) or Whisper release (config.json
 * with model_type "whisper", the weights, generation_config.json and the tokenizer); then its path is written
 * to snapshot (if not NULL). 0 otherwise. Never uses the network. */
int studio_hub_snapshot_complete(const char *cache_dir, const char *repo_id, char *snapshot, size_t size);

/* The snapshot dir that refs/main names, complete or not (a release downloaded once, then damaged); 1 when
 * there is one (written to snapshot), else 0. Never uses the network. */
int studio_hub_snapshot_named(const char *cache_dir, const char *repo_id, char *snapshot, size_t size);

/* Downloads repo_id at "main" unless the snapshot is already complete (and p->repair is not set). On success
 * writes the snapshot path (if snapshot is not NULL). Errors: STUDIO_CONFLICT when another download of the
 * repo holds the lock, STUDIO_NOT_FOUND when the Hub has no such repo, STUDIO_INTERNAL for network, disk and
 * checksum faults. */
int studio_hub_download(const char *repo_id, const studio_hub_params *p, char *snapshot, size_t size,
                        studio_error *err);

/* Removes <cache>/models--Org--Name and its lock folder. STUDIO_NOT_FOUND when there is nothing,
 * STUDIO_CONFLICT while a download holds the lock. */
int studio_hub_remove(const char *cache_dir, const char *repo_id, studio_error *err);

/* 1 while a download (of any process) holds the repo's lock, else 0. Creates nothing. */
int studio_hub_busy(const char *cache_dir, const char *repo_id);

/* Bytes of the files under <cache>/models--Org--Name/blobs, partial ones included. */
uint64_t studio_hub_disk_usage(const char *cache_dir, const char *repo_id);

#endif
