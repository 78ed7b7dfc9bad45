/* multipart.c — see multipart.h.
 *
 * The body is treated as if it began with CRLF, so every boundary, the first included, is the same
 * delimiter "\r\n--<boundary>". Between chunks the parser keeps at most one delimiter's length of body
 * data (a delimiter may straddle two chunks) or one part's header block (capped at HEADERS_MAX).
 */
#include "server/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 70 /* RFC 2046 */
#define HEADERS_MAX 8192

enum state { PREAMBLE, AFTER_DELIM, HEADERS, BODY, EPILOGUE, FAILED };

struct srv_multipart {
    srv_multipart_callbacks cb;
    void *arg;
    char delim[BOUNDARY_MAX + 5]; /* "\r\n--" boundary */
    size_t dlen;
    enum state state;
    char *buf; /* unprocessed bytes */
    size_t len, cap;
    char err[160];
};

static int fail(srv_multipart *m, const char *msg)
{
    if (m->state != FAILED) snprintf(m->err, sizeof m->err, "multipart body: %s", msg);
    m->state = FAILED;
    return -1;
}

/* Copies the value of parameter param (e.g. boundary=..., name="...") out of a header value. Quoted values
 * may hold ';'. Returns 0 if found, 1 if found but longer than out (cut at a whole UTF-8 character), -1 if
 * absent or malformed. */
static int header_param(const char *value, const char *param, char *out, size_t out_size)
{
    size_t plen = strlen(param);
    const char *p = strchr(value, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, param, plen) == 0 && p[plen] == '=') {
            p += plen + 1;
            size_t n = 0;
            int cut = 0; /* longer than out: kept whole up to its size (see below) */
            if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1]) p++;
                    if (n + 1 >= out_size)
                        cut = 1, p++;
                    else
                        out[n++] = *p++;
                }
                if (*p != '"') return -1;
            } else {
                while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                    if (n + 1 >= out_size)
                        cut = 1, p++;
                    else
                        out[n++] = *p++;
                }
            }
            if (cut && n > 0) { /* never end inside a UTF-8 character: drop an incomplete last one */
                size_t i = n - 1;
                while (i > 0 && ((unsigned char)out[i] & 0xc0) == 0x80)
                    i--;
                unsigned char lead = (unsigned char)out[i];
                size_t len = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                if (i + len > n) n = i;
            }
            out[n] = '\0';
            return cut;
        }
        /* skip to the next ';' outside quotes */
        int quoted = 0;
        while (*p && (quoted || *p != ';')) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == '\\' && quoted && p[1])
                p++;
            p++;
        }
        p = *p ? p : NULL;
    }
    return -1;
}

srv_multipart *srv_multipart_new(const char *content_type, const srv_multipart_callbacks *cb, void *arg,
                                 char *err, size_t err_size)
{
    char boundary[BOUNDARY_MAX + 2];
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) != 0) {
        snprintf(err, err_size, "Content-Type must be multipart/form-data, got '%.80s'",
                 content_type ? content_type : "(none)");
        return NULL;
    }
    if (header_param(content_type, "boundary", boundary, sizeof boundary) != 0 || boundary[0] == '\0' ||
        strlen(boundary) > BOUNDARY_MAX) {
        snprintf(err, err_size, "Content-Type: multipart/form-data needs a boundary of 1 to 70 characters");
        return NULL;
    }
    srv_multipart *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    m->cb = *cb;
    m->arg = arg;
    m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", boundary);
    m->state = PREAMBLE;
    /* the virtual CRLF before the first boundary */
    m->cap = 4096;
    m->buf = malloc(m->cap);
    if (!m->buf) {
        free(m);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    memcpy(m->buf, "\r\n", 2);
    m->len = 2;
    return m;
}

void srv_multipart_free(srv_multipart *m)
{
    if (!m) return;
    free(m->buf);
    free(m);
}

const char *srv_multipart_error(const srv_multipart *m)
{
    return m->err[0] ? m->err : "multipart body: malformed";
}

/* Parses one part's header block (lines separated by CRLF, without the blank line) and reports the part. */
static int parse_headers(srv_multipart *m, char *block)
{
    char name[256] = "", filename[256] = "", ctype[128] = "";
    int have_name = 0, have_filename = 0, have_ctype = 0;
    char *line = block;
    while (line && *line) {
        char *next = strstr(line, "\r\n");
        if (next) {
            *next = '\0';
            next += 2;
        }
        char *colon = strchr(line, ':');
        if (!colon) return fail(m, "a part header line has no ':'");
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (!strcasecmp(line, "Content-Disposition")) {
            if (strncasecmp(value, "form-data", 9) != 0)
                return fail(m, "a part's Content-Disposition is not form-data");
            if (header_param(value, "name", name, sizeof name) == 0) have_name = 1;
            /* a file name over 255 bytes is cut, not dropped: dropping it made the file part a text field */
            if (header_param(value, "filename", filename, sizeof filename) >= 0) have_filename = 1;
        } else if (!strcasecmp(line, "Content-Type")) {
            snprintf(ctype, sizeof ctype, "%s", value);
            have_ctype = 1;
        }
        line = next;
    }
    if (!have_name) return fail(m, "a part has no Content-Disposition name");
    if (m->cb.on_part &&
        m->cb.on_part(m->arg, name, have_filename ? filename : NULL, have_ctype ? ctype : NULL) != 0)
        return fail(m, "a part was refused");
    return 0;
}

static int emit(srv_multipart *m, const char *data, size_t n)
{
    if (n && m->cb.on_data && m->cb.on_data(m->arg, data, n) != 0) return fail(m, "a part was refused");
    return 0;
}

/* Runs the state machine over buf; leaves in buf only what cannot be decided yet. */
static int process(srv_multipart *m)
{
    size_t pos = 0;
    for (;;) {
        const char *p = m->buf + pos;
        size_t avail = m->len - pos;
        if (m->state == PREAMBLE) {
            const char *d = memmem(p, avail, m->delim, m->dlen);
            if (!d) { /* keep a tail that may start a delimiter */
                if (avail > m->dlen) pos += avail - m->dlen;
                break;
            }
            pos = (size_t)(d - m->buf) + m->dlen;
            m->state = AFTER_DELIM;
        } else if (m->state == AFTER_DELIM) {
            /* "--" closes the body; else optional blanks then CRLF start a part */
            if (avail < 2) break;
            if (p[0] == '-' && p[1] == '-') {
                m->state = EPILOGUE;
                pos = m->len;
                break;
            }
            size_t i = 0;
            while (i < avail && (p[i] == ' ' || p[i] == '\t'))
                i++;
            if (i > 64) return fail(m, "too much padding after a boundary");
            if (avail - i < 2) break;
            if (p[i] != '\r' || p[i + 1] != '\n') return fail(m, "a boundary is not followed by CRLF");
            pos += i + 2;
            m->state = HEADERS;
        } else if (m->state == HEADERS) {
            const char *end;
            if (avail >= 2 && p[0] == '\r' && p[1] == '\n') { /* a part without headers */
                end = p;
            } else {
                end = memmem(p, avail, "\r\n\r\n", 4);
                if (!end) {
                    if (avail > HEADERS_MAX) return fail(m, "a part's headers are longer than 8 KiB");
                    break;
                }
                end += 2;
            }
            size_t hlen = (size_t)(end - p);
            if (hlen > HEADERS_MAX) return fail(m, "a part's headers are longer than 8 KiB");
            char *block = malloc(hlen + 1);
            if (!block) return fail(m, "out of memory");
            memcpy(block, p, hlen);
            block[hlen] = '\0';
            if (hlen >= 2 && block[hlen - 2] == '\r') block[hlen - 2] = '\0';
            int r = memchr(block, '\0', hlen >= 2 ? hlen - 2 : 0) ? fail(m, "a part header holds a NUL byte")
                                                                  : parse_headers(m, block);
            free(block);
            if (r != 0) return -1;
            pos += hlen + 2;
            m->state = BODY;
        } else if (m->state == BODY) {
            const char *d = memmem(p, avail, m->delim, m->dlen);
            if (!d) {
                if (avail > m->dlen) {
                    size_t n = avail - m->dlen;
                    if (emit(m, p, n) != 0) return -1;
                    pos += n;
                }
                break;
            }
            if (emit(m, p, (size_t)(d - p)) != 0) return -1;
            if (m->cb.on_part_end && m->cb.on_part_end(m->arg) != 0) return fail(m, "a part was refused");
            pos = (size_t)(d - m->buf) + m->dlen;
            m->state = AFTER_DELIM;
        } else {
            pos = m->len;
            break;
        }
    }
    memmove(m->buf, m->buf + pos, m->len - pos);
    m->len -= pos;
    return 0;
}

int srv_multipart_feed(srv_multipart *m, const char *data, size_t n)
{
    if (m->state == FAILED) return -1;
    if (m->state == EPILOGUE) /* whatever follows the closing boundary is ignored */
        return 0;
    while (n > 0) {
        /* feed in slices so buf stays small even for one huge chunk */
        size_t room = 65536;
        size_t take = n < room ? n : room;
        if (m->len + take > m->cap) {
            size_t cap = m->cap;
            while (cap < m->len + take)
                cap *= 2;
            char *nb = realloc(m->buf, cap);
            if (!nb) return fail(m, "out of memory");
            m->buf = nb;
            m->cap = cap;
        }
        memcpy(m->buf + m->len, data, take);
        m->len += take;
        data += take;
        n -= take;
        if (process(m) != 0) return -1;
    }
    return 0;
}

int srv_multipart_finish(srv_multipart *m)
{
    if (m->state == FAILED) return -1;
    if (m->state != EPILOGUE) return fail(m, "the body ends before the closing boundary");
    return 0;
}

/* ---- the form ---- */

srv_form *srv_form_new(size_t field_max, size_t file_max)
{
    srv_form *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->field_max = field_max;
    f->file_max = file_max;
    return f;
}

void srv_form_free(srv_form *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_parts; i++) {
        free(f->parts[i].name);
        free(f->parts[i].filename);
        free(f->parts[i].content_type);
        free(f->parts[i].data);
    }
    free(f->parts);
    free(f);
}

const srv_form_part *srv_form_get(const srv_form *f, const char *name)
{
    for (int i = 0; f && i < f->n_parts; i++)
        if (!strcmp(f->parts[i].name, name)) return &f->parts[i];
    return NULL;
}

static int form_on_part(void *arg, const char *name, const char *filename, const char *content_type)
{
    srv_form *f = arg;
    if (f->n_parts >= SRV_FORM_MAX_PARTS) return -1;
    srv_form_part *parts = realloc(f->parts, (size_t)(f->n_parts + 1) * sizeof *parts);
    if (!parts) return -1;
    f->parts = parts;
    srv_form_part *p = &parts[f->n_parts];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->filename = filename ? strdup(filename) : NULL;
    p->content_type = content_type ? strdup(content_type) : NULL;
    p->data = calloc(1, 1);
    p->cap = 1;
    f->n_parts++; /* counted now so srv_form_free releases it whatever happens next */
    if (!p->name || (filename && !p->filename) || (content_type && !p->content_type) || !p->data) return -1;
    return 0;
}

static int form_on_data(void *arg, const char *data, size_t n)
{
    srv_form *f = arg;
    srv_form_part *p = &f->parts[f->n_parts - 1];
    size_t max = p->filename ? f->file_max : f->field_max;
    if (n > max || p->len > max - n) {
        f->too_large = 1;
        snprintf(f->too_large_name, sizeof f->too_large_name, "%s", p->name);
        return -1;
    }
    /* grow geometrically: the network hands us small chunks of a large file */
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 64;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *nd = realloc(p->data, cap);
        if (!nd) return -1;
        p->data = nd;
        p->cap = cap;
    }
    memcpy(p->data + p->len, data, n);
    p->len += n;
    p->data[p->len] = '\0';
    return 0;
}

static int form_on_part_end(void *arg)
{
    (void)arg;
    return 0;
}

const srv_multipart_callbacks srv_form_callbacks = {form_on_part, form_on_data, form_on_part_end};
