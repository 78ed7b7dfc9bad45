/* studio.h — the studio's domain: voice profiles, their reference samples and the generation history,
 * kept in SQLite at <data>/voicebox.db with the audio files beside it. No HTTP here: the server and the
 * CLI both call this header, so a rule (a length limit, a cascade) lives in exactly one place.
 *
 * Data returned to callers is jansson JSON already in the Voicebox API's shapes, so a route handler only
 * dumps it. The caller owns every json_t and char * it gets back (json_decref / free).
 *
 * Files live under the data dir only and are stored in the database relative to it:
 *   profiles/<profile_id>/<sample_id>.wav   generations/<generation_id>.wav   cache/
 * Ids are lowercase uuids; anything else is "not found" before it can reach a path.
 *
 * A studio is safe to share between threads (one connection behind a mutex; slow work such as decoding an
 * upload runs outside it). Other processes may open the same data dir (busy timeout, WAL).
 */
#ifndef VOICEBOX_STUDIO_H
#define VOICEBOX_STUDIO_H

#include "studio/rules.h" /* the limits and tables the checks below apply */

#include <jansson.h>
#include <stddef.h>

/* ---- errors ---- */

/* What went wrong, as a kind; the server maps kinds to HTTP statuses (src/server/http.c), the CLI prints
 * the message. */
typedef enum {
    STUDIO_OK = 0,
    STUDIO_NOT_FOUND,         /* unknown profile / sample / generation id */
    STUDIO_INVALID,           /* a field fails validation; err->field names it */
    STUDIO_CONFLICT,          /* "already exists" (duplicate profile name); err->field names it; or the
                                 state refuses the request (a story with nothing to mix) */
    STUDIO_TOO_LARGE,         /* upload over STUDIO_UPLOAD_MAX */
    STUDIO_UNSUPPORTED_MEDIA, /* the upload cannot be decoded as audio */
    STUDIO_INTERNAL,          /* database or filesystem fault (also logged) */
    STUDIO_NOT_READY,         /* the request needs something first (a model not downloaded) */
    STUDIO_BAD_INPUT,         /* an uploaded file is not what it must be (a damaged or unsafe archive) */
    STUDIO_NO_SPACE,          /* the data dir's drive (or quota) is full; the message names no path */
} studio_error_kind;

typedef struct {
    studio_error_kind kind;
    char field[64]; /* for STUDIO_INVALID: "name", "description", "language", "reference_text", "file",
                       "limit", "offset", ...; empty otherwise */
    char msg[512];  /* one human sentence, e.g. "name: must be 1 to 100 characters, got 101" */
} studio_error;

/* ---- opening a data dir ---- */

typedef struct studio studio;

#define STUDIO_SAMPLE_RATE 24000 /* stored samples and generations: 24 kHz mono 16-bit WAV */

/* Creates data_dir (and profiles/, generations/, cache/) if needed, opens or creates voicebox.db, applies
 * migrations, then sweeps orphans left by a crash: rows whose audio file is missing and files (or temp
 * files) that no row refers to are removed, and logged. */
studio *studio_open(const char *data_dir, studio_error *err);
void studio_close(studio *s); /* NULL is fine */

const char *studio_data_dir(const studio *s); /* absolute */
/* "<data>/<rel>", malloc'd; rel must be one of the studio's own relative paths (no "..") or NULL. */
char *studio_path(const studio *s, const char *rel);

/* Writes a new random lowercase uuid (36 chars + NUL) into out. */
void studio_new_id(char out[37]);
/* 1 if id is a lowercase canonical uuid (8-4-4-4-12 hex digits), else 0. */
int studio_id_valid(const char *id);
/* The length of the valid prefix of s[0..n) (== n when all is valid) by the engine's one strict, NUL-free
 * UTF-8 validator (qt_utf8_valid_prefix), for the layers above the studio that do not see the engine. */
size_t studio_utf8_valid_prefix(const char *s, size_t n);

/* ---- profiles ---- */
/* Profile JSON: {id, name, description|null, language, avatar_path|null, created_at, updated_at},
 * timestamps ISO 8601 UTC ("2026-11-26T06:20:01.123456"). */

/* body: {name (1-100 chars, unique), description? (<=500 or null), language? (zh,en,ja,ko,de,fr,ru,pt,es,it;
 * default "en")}. A body that is not an object, a wrong type, a bad value: STUDIO_INVALID with the field. */
json_t *studio_profile_create(studio *s, const json_t *body, studio_error *err);
json_t *studio_profile_list(studio *s, studio_error *err); /* array, newest first */
json_t *studio_profile_get(studio *s, const char *id, studio_error *err);
/* body: the same fields as create, all required as in Voicebox's PUT (name; description and language
 * keep their defaults when absent). */
json_t *studio_profile_update(studio *s, const char *id, const json_t *body, studio_error *err);
/* Deletes the profile, its samples, its generations and their files. */
int studio_profile_delete(studio *s, const char *id, studio_error *err);

/* ---- samples ---- */
/* Sample JSON: {id, profile_id, audio_path (absolute), reference_text, duration}. */

/* bytes/size: the uploaded file image (WAV, FLAC, OGG, MP3...). Decoded, resampled to 24 kHz mono,
 * leading/trailing silence trimmed, must then last 2-30 s and have RMS >= 0.01; hot or clipped audio is
 * gain-corrected. Stored as profiles/<pid>/<sid>.wav (16-bit). reference_text: 1-1000 chars. */
json_t *studio_sample_add(studio *s, const char *profile_id, const void *bytes, size_t size,
                          const char *reference_text, studio_error *err);
json_t *studio_sample_list(studio *s, const char *profile_id, studio_error *err); /* array, oldest first */
json_t *studio_sample_get(studio *s, const char *sample_id, studio_error *err);
/* body: {reference_text} */
json_t *studio_sample_update(studio *s, const char *sample_id, const json_t *body, studio_error *err);
int studio_sample_delete(studio *s, const char *sample_id, studio_error *err);
/* Absolute path of the sample's WAV, malloc'd; STUDIO_NOT_FOUND for an unknown id or a missing file. */
char *studio_sample_audio_path(studio *s, const char *sample_id, studio_error *err);

/* ---- generations / history ---- */
/* History item JSON: {id, profile_id, profile_name, text, language, audio_path (absolute)|null,
 * duration|null, seed|null, instruct|null, model_size|null, status, error|null, created_at}. */

typedef struct {
    const char *id; /* NULL: a new uuid is made; else a valid uuid (the worker names the file first) */
    const char *profile_id; /* must exist */
    const char *text;       /* 1-5000 chars */
    const char *language;   /* one of the 10 codes */
    const char *audio_path; /* relative: "generations/<id>.wav", or NULL (failed generation) */
    double duration;        /* seconds; < 0: null */
    long long seed;         /* < 0: null */
    const char *model_size; /* "1.7B" / "0.6B" or NULL */
    const char *instruct;   /* <= 500 chars or NULL */
    const char *status;     /* NULL: "completed" */
    const char *error;      /* NULL unless status is "failed" */
    const char *settings;   /* JSON object text: the take's chunking and sampling settings, or NULL */
} studio_generation;

/* Inserts a history row; returns the history item JSON. Write the WAV first, then insert: if the insert
 * fails (e.g. STUDIO_NOT_FOUND because the profile was deleted meanwhile) the file is still the caller's
 * to remove. */
json_t *studio_generation_insert(studio *s, const studio_generation *g, studio_error *err);

/* A take's life: queued -> [downloading] -> [loading_model] -> generating -> completed | failed | cancelled.
 * The row exists from the moment the take is asked for; these move it along. */
int studio_take_final(const char *status); /* 1 for completed, failed, cancelled */

/* Sets status and error (NULL clears it) of a take; with audio_path (relative, the WAV already written) also
 * its audio and duration. STUDIO_NOT_FOUND when the row is gone (its profile was deleted meanwhile). */
int studio_generation_set_status(studio *s, const char *id, const char *status, const char *error,
                                 const char *audio_path, double duration, studio_error *err);
/* Crash recovery: takes left unfinished (queued, downloading, loading_model, generating) by a server that
 * stopped without finishing them are marked failed. Returns how many, or -1. */
int studio_generations_fail_unfinished(studio *s, studio_error *err);

typedef struct {
    const char *profile_id; /* NULL: all */
    const char *search;     /* NULL: none; substring of text, case-insensitive for ASCII */
    int limit;              /* 1-100 */
    int offset;             /* >= 0 */
} studio_history_query;

studio_history_query studio_history_default_query(void); /* limit 50, offset 0 */
/* {items: [history item...] newest first, total} */
json_t *studio_history_list(studio *s, const studio_history_query *q, studio_error *err);
/* {total_generations, total_duration_seconds, generations_by_profile: {profile_id: count}} */
json_t *studio_history_stats(studio *s, studio_error *err);
json_t *studio_history_get(studio *s, const char *id, studio_error *err);
int studio_history_delete(studio *s, const char *id, studio_error *err); /* the row and its file */
/* Flips the take's is_favorited; returns its history item. */
json_t *studio_history_toggle_favorite(studio *s, const char *id, studio_error *err);
/* Deletes every take whose status is failed (rows, and any file); returns how many, or -1. */
int studio_history_delete_failed(studio *s, studio_error *err);
/* Absolute path of the generation's WAV, malloc'd; STUDIO_NOT_FOUND if unknown or it has no audio. */
char *studio_generation_audio_path(studio *s, const char *id, studio_error *err);

/* ---- stories (stories.c) ---- */
/* Story JSON: {id, name, description|null, created_at, updated_at, item_count}; a story got by id also has
 * items: [StoryItemDetail] ordered by start. StoryItemDetail: {id, story_id, generation_id, start_time_ms,
 * track, trim_start_ms, trim_end_ms, created_at} + its take's {profile_id, profile_name, text, language,
 * audio_path, duration, seed, instruct, generation_created_at, model_size}. Times are integer ms. */

/* body: {name (1-100 chars), description? (<=500 or null)}; PUT takes the same body. */
json_t *studio_story_create(studio *s, const json_t *body, studio_error *err);
json_t *studio_story_list(studio *s, studio_error *err); /* array, most recently changed first */
json_t *studio_story_get(studio *s, const char *id, studio_error *err);
json_t *studio_story_update(studio *s, const char *id, const json_t *body, studio_error *err);
int studio_story_delete(studio *s, const char *id, studio_error *err); /* with its items; takes stay */
/* body: {generation_id, start_time_ms? (none: after the latest end over all tracks + 200 ms), track? = 0}.
 * A take already in the story returns its existing item; a take without audio is STUDIO_INVALID. */
json_t *studio_story_item_add(studio *s, const char *story_id, const json_t *body, studio_error *err);
int studio_story_item_delete(studio *s, const char *story_id, const char *item_id, studio_error *err);
/* body: {updates: [{generation_id, start_time_ms}]}; every take named must be in the story. */
int studio_story_items_times(studio *s, const char *story_id, const json_t *body, studio_error *err);
/* body: {generation_ids}: exactly the story's takes; laid out in that order with 200 ms gaps. Array. */
json_t *studio_story_items_reorder(studio *s, const char *story_id, const json_t *body, studio_error *err);
/* body: {start_time_ms, track? = 0} */
json_t *studio_story_item_move(studio *s, const char *story_id, const char *item_id, const json_t *body,
                               studio_error *err);
/* body: {trim_start_ms, trim_end_ms}; STUDIO_INVALID when they leave nothing of the take. */
json_t *studio_story_item_trim(studio *s, const char *story_id, const char *item_id, const json_t *body,
                               studio_error *err);
/* body: {split_time_ms} relative to the visible start, strictly inside the clip. [original, new]. */
json_t *studio_story_item_split(studio *s, const char *story_id, const char *item_id, const json_t *body,
                                studio_error *err);
/* A copy after the original + 200 ms on the same track, same trims. */
json_t *studio_story_item_duplicate(studio *s, const char *story_id, const char *item_id, studio_error *err);
/* The mix at 24 kHz: every item's take, trimmed, summed at its start over all tracks; length = the last
 * visible end; divided by the peak only when the peak exceeds 1. *out (malloc'd) has *n_out samples and
 * *name the story's name (malloc'd). STUDIO_CONFLICT when the story has no items. A take whose file cannot
 * be read is left out (logged). */
int studio_story_mix(studio *s, const char *story_id, float **out, size_t *n_out, char **name,
                     studio_error *err);

/* ---- audio channels (channels.c) ---- */
/* Channel JSON (AudioChannelResponse): {id, name, is_default, device_ids: [string], created_at}. The
 * Default channel (is_default) cannot be changed or deleted: STUDIO_CONFLICT. */

json_t *studio_channel_list(studio *s, studio_error *err); /* the Default channel first */
json_t *studio_channel_get(studio *s, const char *id, studio_error *err);
/* body: {name (1-100 chars, unique), device_ids? = []} */
json_t *studio_channel_create(studio *s, const json_t *body, studio_error *err);
/* body: {name?, device_ids?}: what is given replaces what was */
json_t *studio_channel_update(studio *s, const char *id, const json_t *body, studio_error *err);
int studio_channel_delete(studio *s, const char *id, studio_error *err); /* with its assignments */
json_t *studio_channel_voices(studio *s, const char *channel_id, studio_error *err);   /* {profile_ids} */
json_t *studio_profile_channels(studio *s, const char *profile_id, studio_error *err); /* {channel_ids} */
/* body: {profile_ids} / {channel_ids}: the whole new set; an id that names nothing is STUDIO_INVALID. */
int studio_channel_set_voices(studio *s, const char *channel_id, const json_t *body, studio_error *err);
int studio_profile_set_channels(studio *s, const char *profile_id, const json_t *body, studio_error *err);

/* ---- .voicebox.zip packages (package.c) ---- */

/* The profile as a package (manifest.json, samples.json, samples/<id>.wav, avatar.<ext>): *zip malloc'd,
 * *name the profile's name (malloc'd) for the download's file name. */
int studio_profile_export(studio *s, const char *id, void **zip, size_t *size, char **name,
                          studio_error *err);
/* A package as a new profile (a taken name gets " (1)", " (2)"...); every sample checked as an upload.
 * Unsafe or damaged archives are STUDIO_BAD_INPUT; a failed import leaves nothing behind. Profile JSON. */
json_t *studio_profile_import(studio *s, const void *zip, size_t size, studio_error *err);
/* A take as a package (manifest.json, audio/<id>.wav); *text its text (malloc'd), for the file name. */
int studio_generation_export(studio *s, const char *id, void **zip, size_t *size, char **text,
                             studio_error *err);
/* A packaged take, added to the history of the profile with the manifest's profile name (refused when there
 * is none). History item JSON. */
json_t *studio_generation_import(studio *s, const void *zip, size_t size, studio_error *err);

/* ---- profile avatars (avatar.c) ---- */

#define STUDIO_AVATAR_MAX (5u * 1024u * 1024u) /* bytes; a larger avatar upload is STUDIO_TOO_LARGE */

/* bytes: a PNG, JPEG or WebP image (else STUDIO_UNSUPPORTED_MEDIA; damaged: STUDIO_BAD_INPUT). Stored as
 * profiles/<id>/avatar.png: upright (EXIF orientation), over white, fitted within 512 x 512. Profile JSON,
 * whose avatar_path is then set. */
json_t *studio_avatar_set(studio *s, const char *profile_id, const void *bytes, size_t size,
                          studio_error *err);
/* Absolute path of the avatar PNG (malloc'd); STUDIO_NOT_FOUND when the profile or its avatar is missing. */
char *studio_avatar_path(studio *s, const char *profile_id, studio_error *err);
int studio_avatar_delete(studio *s, const char *profile_id, studio_error *err); /* NOT_FOUND when none */

/* ---- settings ---- */

/* The defaults of a take: {max_chunk_chars, crossfade_ms, normalize_audio, autoplay_on_generate} and the
 * sampling settings (temperature, top_k, top_p, repetition_penalty, subtalker_*), from <data>/settings.json
 * (defaults where absent: the engine's for sampling). */
json_t *studio_generation_settings(studio *s, studio_error *err);
/* Changes the members given (others kept), each checked (STUDIO_INVALID naming it); returns the new set. */
json_t *studio_generation_settings_update(studio *s, const json_t *body, studio_error *err);

#endif
