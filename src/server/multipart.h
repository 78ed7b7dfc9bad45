/* multipart.h — a streaming multipart/form-data parser (RFC 7578) and a form that collects its parts.
 *
 * The parser is fed the body in chunks of any size (as the network delivers it) and keeps only a small
 * tail between chunks, so a body is never buffered whole by the parser itself. The form keeps the parts
 * in memory, each under its own cap; the caller caps the body as a whole. It must not touch the disk.
 */
#ifndef VOICEBOX_SRV_MULTIPART_H
#define VOICEBOX_SRV_MULTIPART_H

#include <stddef.h>

typedef struct srv_multipart srv_multipart;

typedef struct {
    /* A part starts: name from Content-Disposition (form-data; name="..."), filename and content_type
     * or NULL. Return 0 to go on, -1 to stop the parse (srv_multipart_feed then fails). */
    int (*on_part)(void *arg, const char *name, const char *filename, const char *content_type);
    int (*on_data)(void *arg, const char *data, size_t n);
    int (*on_part_end)(void *arg);
} srv_multipart_callbacks;

/* content_type: the request's Content-Type header; it must be multipart/form-data with a boundary.
 * NULL with a message in err on a bad header. */
srv_multipart *srv_multipart_new(const char *content_type, const srv_multipart_callbacks *cb, void *arg,
                                 char *err, size_t err_size);
void srv_multipart_free(srv_multipart *m); /* NULL is fine */
/* 0, or -1 with srv_multipart_error() set (malformed body or a callback refused). */
int srv_multipart_feed(srv_multipart *m, const char *data, size_t n);
/* At the end of the body: 0 if the closing boundary was seen, else -1. */
int srv_multipart_finish(srv_multipart *m);
const char *srv_multipart_error(const srv_multipart *m);

/* ---- a form: every part kept in memory ---- */

typedef struct {
    char *name;
    char *filename;     /* NULL for a plain field */
    char *content_type; /* NULL if the part had none */
    char *data;         /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    size_t cap; /* bytes allocated for data */
} srv_form_part;

typedef struct srv_form {
    srv_form_part *parts;
    int n_parts;
    size_t field_max; /* cap on a part without a filename */
    size_t file_max;  /* cap on a part with a filename */
    int too_large;    /* set when a part went over its cap (the parse stops) */
    char too_large_name[64];
} srv_form;

#define SRV_FORM_MAX_PARTS 16

srv_form *srv_form_new(size_t field_max, size_t file_max);
void srv_form_free(srv_form *f); /* NULL is fine */
/* Callbacks that fill f; pass f as the parser's arg. */
extern const srv_multipart_callbacks srv_form_callbacks;
/* The first part named name, or NULL. */
const srv_form_part *srv_form_get(const srv_form *f, const char *name);

#endif
