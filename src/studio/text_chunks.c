/* text_chunks.c — see text_chunks.h. Works on UTF-8 byte offsets; a cut never falls inside a character. */
#include "studio/text_chunks.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t char_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
}

static int starts(const char *p, const char *s)
{
    return !strncmp(p, s, strlen(s));
}

/* The word that ends at the '.' at t[dot] is an abbreviation or an initial: no sentence end. */
static int abbreviation(const char *t, size_t dot)
{
    static const char *const abbr[] = {"mr",  "mrs",    "ms",   "dr",  "prof", "sr",  "jr",  "st",
                                       "vs",  "etc",    "e.g",  "i.e", "no",   "inc", "ltd", "mt",
                                       "fig", "approx", "dept", "co",  "ca",   "cf",  "al",  "vol",
                                       "p",   "pp",     "gen",  "col", "lt",   "sgt", "rev"};
    size_t b = dot;
    while (b > 0 && (isalpha((unsigned char)t[b - 1]) || t[b - 1] == '.'))
        b--;
    size_t len = dot - b;
    if (len == 0) return 0;
    if (len == 1 && isupper((unsigned char)t[b])) return 1; /* an initial: "J. R. R. Tolkien" */
    for (size_t i = 0; i < sizeof abbr / sizeof abbr[0]; i++)
        if (strlen(abbr[i]) == len && !strncasecmp(t + b, abbr[i], len)) return 1;
    return 0;
}

/* Length in bytes of the sentence end at t[i] (its punctuation), or 0 when t[i] ends no sentence. */
static size_t sentence_end(const char *t, size_t i)
{
    static const char *const cjk[] = {"\xe3\x80\x82", "\xef\xbc\x81", "\xef\xbc\x9f",
                                      "\xef\xbc\x9b"}; /* 。！？； */
    for (size_t k = 0; k < sizeof cjk / sizeof cjk[0]; k++)
        if (starts(t + i, cjk[k])) return 3;
    size_t n = 0;
    if (t[i] == '.' || t[i] == '!' || t[i] == '?')
        n = 1;
    else if (starts(t + i, "\xe2\x80\xa6")) /* … */
        n = 3;
    else if (t[i] == '\n' && t[i + 1] == '\n')
        return 2;
    if (!n) return 0;
    size_t j = i + n;
    while (t[j] == '.' || t[j] == '!' || t[j] == '?' || t[j] == '"' || t[j] == '\'' || t[j] == ')')
        j++; /* "?!", "...", a closing quote or bracket stays with its sentence */
    if (t[j] && !isspace((unsigned char)t[j])) return 0; /* 3.14, e.g.x, a URL */
    if (t[i] == '.' && j == i + 1 && abbreviation(t, i)) return 0;
    return j - i;
}

static int is_clause_mark(const char *p)
{
    return *p == ',' || *p == ';' || *p == ':' || starts(p, "\xef\xbc\x8c") /* ， */ ||
           starts(p, "\xe3\x80\x81") /* 、 */;
}

/* Where to cut t[0..len) so the piece holds at most max_chars characters and max_bytes bytes: after the last
 * clause mark, else at the last space, else at the limit. Returns the piece's byte length (> 0). */
static size_t cut_point(const char *t, size_t len, long max_chars, size_t max_bytes)
{
    size_t i = 0, clause = 0, space = 0;
    long chars = 0;
    while (i < len && chars < max_chars) {
        size_t c = char_len((unsigned char)t[i]);
        if (i + c > max_bytes) break;
        if (is_clause_mark(t + i)) clause = i + c;
        if (isspace((unsigned char)t[i]) && i > 0) space = i;
        i += c;
        chars++;
    }
    if (i >= len) return len;
    return clause ? clause : space ? space : i > 0 ? i : char_len((unsigned char)t[0]);
}

typedef struct {
    char **v;
    int n, cap;
} list;

/* Appends t[0..len) trimmed, unless it is only white space. */
static int push(list *l, const char *t, size_t len)
{
    while (len && isspace((unsigned char)*t))
        t++, len--;
    while (len && isspace((unsigned char)t[len - 1]))
        len--;
    if (!len) return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strndup(t, len);
    return l->v[l->n] ? (l->n++, 0) : -1;
}

static long count_chars(const char *t, size_t len)
{
    long n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)t[i] & 0xc0) != 0x80;
    return n;
}

int studio_text_chunks(const char *text, long max_chars, size_t max_bytes, char ***out, int *n)
{
    list l = {0};
    size_t len = strlen(text), start = 0, i = 0, last_end = 0;
    /* chunk = text[start..i); last_end: the end of the last whole sentence inside it */
    while (i < len) {
        size_t e = sentence_end(text, i);
        size_t next = i + (e ? e : char_len((unsigned char)text[i]));
        if (next > len) next = len;
        if (count_chars(text + start, next - start) > max_chars || next - start > max_bytes) {
            if (last_end > start) { /* close the chunk at its last sentence end */
                if (push(&l, text + start, last_end - start) < 0) goto oom;
                start = last_end;
            } else { /* one sentence over the limit: cut it */
                size_t cut = cut_point(text + start, len - start, max_chars, max_bytes);
                if (push(&l, text + start, cut) < 0) goto oom;
                start += cut;
            }
            while (start < len && isspace((unsigned char)text[start]))
                start++;
            i = last_end = start;
            continue;
        }
        if (e) last_end = next;
        i = next;
    }
    if (push(&l, text + start, len - start) < 0) goto oom;
    *out = l.v;
    *n = l.n;
    return 0;
oom:
    studio_text_chunks_free(l.v, l.n);
    return -1;
}

void studio_text_chunks_free(char **chunks, int n)
{
    for (int i = 0; i < n; i++)
        free(chunks[i]);
    free(chunks);
}
