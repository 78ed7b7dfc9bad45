/* attachment.c — Content-Disposition for downloads named after user text (profile, story, take names).
 * A header must be ASCII, so a name is cleaned the way the Python studio cleans it (letters, digits, space,
 * '-' and '_'), sent as an ASCII filename and, when it holds other characters, also as RFC 5987 filename*
 * (percent-encoded UTF-8), which browsers prefer. */
#include "server/http.h"

#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

static int keep(utf8proc_int32_t cp)
{
    if (cp == ' ' || cp == '-' || cp == '_') return 1;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

void srv_attachment(srv_response *res, const char *prefix, const char *name, const char *fallback,
                    const char *suffix)
{
    char clean[512];
    size_t n = 0;
    const uint8_t *p = (const uint8_t *)(name ? name : "");
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen((const char *)p);
    while (len > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, len, &cp);
        if (k <= 0) break;
        if (keep(cp) && n + (size_t)k < sizeof clean) {
            memcpy(clean + n, p, (size_t)k);
            n += (size_t)k;
        }
        p += k;
        len -= k;
    }
    clean[n] = '\0';
    /* strip spaces at both ends */
    char *c = clean;
    while (*c == ' ')
        c++;
    while (n > 0 && clean[n - 1] == ' ')
        clean[--n] = '\0';
    if (!*c) c = (char *)fallback;

    char ascii[512], encoded[1536];
    size_t a = 0, e = 0;
    int plain = 1;
    for (const unsigned char *q = (const unsigned char *)c; *q; q++) {
        if (*q >= 0x80) plain = 0;
        /* one '_' per non-ASCII character: only its lead byte counts */
        if (*q < 0x80 || (*q & 0xc0) != 0x80)
            if (a + 1 < sizeof ascii) ascii[a++] = *q < 0x80 ? (char)*q : '_';
        int safe = (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
                   *q == '-' || *q == '_' || *q == '.';
        if (e + 4 < sizeof encoded) e += (size_t)snprintf(encoded + e, 4, safe ? "%c" : "%%%02X", *q);
    }
    ascii[a] = '\0';
    encoded[e] = '\0';
    int w = -1;
    if (!plain)
        w = snprintf(res->content_disposition, sizeof res->content_disposition,
                     "attachment; filename=\"%s%s%s\"; filename*=UTF-8''%s%s%s", prefix, ascii, suffix,
                     prefix, encoded, suffix);
    /* plain ASCII, or a name too long for both forms: the ASCII one alone */
    if (w < 0 || (size_t)w >= sizeof res->content_disposition)
        w = snprintf(res->content_disposition, sizeof res->content_disposition,
                     "attachment; filename=\"%s%.200s%s\"", prefix, ascii, suffix);
    (void)w;
}
