/* fuzz_multipart.c — libFuzzer target for the streaming multipart/form-data parser (src/server/multipart.c).
 * Input: an optional first line "Content-Type: ..." (else a fixed boundary), then the body. The body is
 * parsed twice: whole, and cut into chunks of sizes drawn from the input, and both parses must agree on
 * success and on every part (name, filename, type, bytes), so a delimiter or header split across chunks can
 * never change the result. Never a crash, leak or out-of-bounds access. */
#include "server/multipart.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Parses body with chunks cut by a small PRNG (step 0: in one piece). Returns the form (NULL if the header
 * is refused) and the result of feed + finish in *rc. */
static srv_form *parse(const char *ctype, const uint8_t *body, size_t n, unsigned seed, int *rc)
{
    char err[200];
    srv_form *f = srv_form_new(300, 4000);
    if (!f) abort();
    srv_multipart *m = srv_multipart_new(ctype, &srv_form_callbacks, f, err, sizeof err);
    if (!m) {
        if (!err[0]) abort(); /* a refusal always says why */
        srv_form_free(f);
        *rc = -2;
        return NULL;
    }
    int r = 0;
    size_t pos = 0;
    while (pos < n && r == 0) {
        size_t take = n - pos;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            take = 1 + (seed >> 16) % 97;
            if (take > n - pos) take = n - pos;
        }
        r = srv_multipart_feed(m, (const char *)body + pos, take);
        pos += take;
    }
    if (r == 0) r = srv_multipart_finish(m);
    if (r != 0 && !srv_multipart_error(m)[0]) abort();
    srv_multipart_free(m);
    *rc = r;
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char ctype[512] = "multipart/form-data; boundary=XyZzy";
    const uint8_t *body = data;
    size_t n = size;
    if (size > 14 && !memcmp(data, "Content-Type: ", 14)) {
        const uint8_t *nl = memchr(data, '\n', size < 400 ? size : 400);
        if (nl) {
            size_t len = (size_t)(nl - data) - 14;
            memcpy(ctype, data + 14, len);
            ctype[len] = '\0';
            body = nl + 1;
            n = size - (size_t)(body - data);
        }
    }
    unsigned seed = size ? 1u + data[size - 1] : 1u;
    int rc1, rc2;
    srv_form *a = parse(ctype, body, n, 0, &rc1);
    srv_form *b = parse(ctype, body, n, seed, &rc2);
    if (rc1 != rc2 || !a != !b) abort();
    if (a && rc1 == 0) {
        if (a->n_parts != b->n_parts) abort();
        for (int i = 0; i < a->n_parts; i++) {
            const srv_form_part *p = &a->parts[i], *q = &b->parts[i];
            if (!str_eq(p->name, q->name) || !str_eq(p->filename, q->filename) ||
                !str_eq(p->content_type, q->content_type) || p->len != q->len ||
                memcmp(p->data, q->data, p->len) || p->data[p->len] != '\0')
                abort();
            if (p->len > (p->filename ? 4000u : 300u)) abort(); /* a cap was not enforced */
        }
        if (a->n_parts > 0 && srv_form_get(a, a->parts[0].name) != &a->parts[0]) abort();
    }
    srv_form_free(a);
    srv_form_free(b);
    return 0;
}
