/* rules.h — the studio's rules, each written once: the languages a profile or a take may name, the models
 * voicebox knows (names, sizes, Hub repo ids) and the default one, and the limits of every text field.
 *
 * The studio checks requests against these, the server's openapi.json is generated from them (enums,
 * minLength/maxLength, minimum/maximum), and the CLI names them in its messages, so a limit changed here
 * changes everywhere at once. Nothing here allocates or locks; every table is constant.
 */
#ifndef VOICEBOX_STUDIO_RULES_H
#define VOICEBOX_STUDIO_RULES_H

#include <stddef.h>

/* ---- text and field limits (characters are Unicode code points of valid UTF-8) ---- */

#define STUDIO_NAME_MAX_CHARS 100            /* profile name, 1 to this, unique */
#define STUDIO_DESCRIPTION_MAX_CHARS 500     /* profile description, optional */
#define STUDIO_REFERENCE_TEXT_MAX_CHARS 1000 /* a sample's transcript, 1 to this */
#define STUDIO_TEXT_MAX_CHARS 50000    /* the text of a take, 1 to this (long ones are spoken in chunks) */
#define STUDIO_INSTRUCT_MAX_CHARS 500  /* a take's instruct text, optional */
#define STUDIO_CHUNK_MIN_CHARS 100     /* a long take is split into chunks of at most max_chunk_chars: */
#define STUDIO_CHUNK_MAX_CHARS 5000    /*   settable from this min to this max, */
#define STUDIO_CHUNK_DEFAULT_CHARS 800 /*   default */
#define STUDIO_CROSSFADE_MAX_MS 1000   /* the crossfade between chunks, 0 to this */
#define STUDIO_CROSSFADE_DEFAULT_MS 50
#define STUDIO_HISTORY_LIMIT_MAX 100 /* GET /history?limit= and `history list --limit`, 1 to this */
#define STUDIO_HISTORY_LIMIT_DEFAULT 50
#define STUDIO_SEED_MAX 0x7fffffffffffLL /* seeds are 0 to this (47 bits: exact in a JSON double) */
#define STUDIO_SAMPLE_MIN_SECONDS 2.0    /* a reference sample, after trimming silence */
#define STUDIO_SAMPLE_MAX_SECONDS 30.0
#define STUDIO_SAMPLE_DECODE_MAX_SECONDS                                                                     \
    60.0 /* an upload is decoded this far at most (header checked first):                                    \
          * the longest sample plus room for silence that is trimmed */
#define STUDIO_UPLOAD_MAX (50u * 1024u * 1024u) /* bytes; a larger sample upload is STUDIO_TOO_LARGE */

/* ---- languages ---- */

#define STUDIO_DEFAULT_LANGUAGE "en"

size_t studio_language_count(void);
const char *studio_language_at(size_t i);    /* ISO 639-1 code ("zh", "en", ...); NULL past the end */
int studio_language_valid(const char *code); /* 1 if code is one of them */
const char *studio_language_list(void);      /* "zh, en, ja, ko, de, fr, ru, pt, es, it", for messages */

/* ---- models ---- */

typedef struct {
    const char *name;    /* "qwen-tts-1.7B" */
    const char *size;    /* "1.7B", the model_size the API speaks */
    const char *repo_id; /* "Qwen/Qwen3-TTS-12Hz-1.7B-Base" */
    const char *display; /* "Qwen TTS 1.7B" */
    int whisper;         /* 1 for the Whisper models (transcription.h): sizes "base" ... "turbo", not TTS */
} studio_model;

/* rows in the table (for arrays sized at compile time); == studio_model_count() */
#define STUDIO_N_MODELS 7
#define STUDIO_WHISPER_DEFAULT "whisper-base" /* what POST /transcribe without a model gets */

size_t studio_model_count(void);
const studio_model *studio_model_at(size_t i); /* NULL past the end */
/* By name ("qwen-tts-0.6B"), size ("0.6B") or repo id; NULL when unknown. */
const studio_model *studio_model_find(const char *key);
const studio_model *studio_model_default(void); /* qwen-tts-1.7B: what a request without model_size gets */
/* The TTS sizes ("1.7B or 0.6B") or all the names ("qwen-tts-1.7B, ..., whisper-turbo"), for messages. */
const char *studio_model_size_list(void);
const char *studio_model_name_list(void);

#endif
