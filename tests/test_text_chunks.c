/* test_text_chunks.c — splitting long texts at sentence ends (src/studio/text_chunks.c): abbreviations,
 * initials and numbers are not sentence ends, CJK full stops are, over-long sentences are cut at a clause
 * mark or a space, every chunk keeps to the character and byte limits, and no character is lost. */
#include "studio/text_chunks.h"
#include "test_util.h"

#include <ctype.h>
#include <time.h>

/* The non-space bytes of s, in order (what chunking must keep). */
static char *squeeze(const char *s)
{
    char *o = malloc(strlen(s) + 1), *p = o;
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) *p++ = *s;
    *p = '\0';
    return o;
}

static long utf8_chars(const char *s)
{
    long n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Splits text and checks the invariants; returns the chunks for case checks. */
static char **split(const char *text, long max_chars, size_t max_bytes, int *n)
{
    char **c = NULL;
    CHECK(studio_text_chunks(text, max_chars, max_bytes, &c, n) == 0, "studio_text_chunks failed");
    size_t total = 0;
    for (int i = 0; i < *n; i++)
        total += strlen(c[i]);
    char *joined = calloc(total + 1, 1), *want = squeeze(text);
    for (int i = 0; i < *n; i++) {
        CHECK(utf8_chars(c[i]) <= max_chars && strlen(c[i]) <= max_bytes && c[i][0] &&
                  !isspace((unsigned char)c[i][0]),
              "chunk %d of %d: %ld chars, %zu bytes (limits %ld, %zu): '%.60s'", i, *n, utf8_chars(c[i]),
              strlen(c[i]), max_chars, max_bytes, c[i]);
        strcat(joined, c[i]);
    }
    char *got = squeeze(joined);
    CHECK(!strcmp(got, want), "the chunks lose or reorder text: '%.80s' vs '%.80s'", got, want);
    free(joined);
    free(got);
    free(want);
    return c;
}

static void expect(const char *text, long max_chars, const char *const *want, int n_want)
{
    int n = 0;
    char **c = split(text, max_chars, 8000, &n);
    int same = n == n_want;
    for (int i = 0; same && i < n; i++)
        same = !strcmp(c[i], want[i]);
    CHECK(same, "'%s' (max %ld): got %d chunks, first '%s', last '%s'; want %d, first '%s'", text, max_chars,
          n, n ? c[0] : "", n ? c[n - 1] : "", n_want, want[0]);
    studio_text_chunks_free(c, n);
}

int main(void)
{
    /* abbreviations, initials, numbers, "?!" and quotes stay inside their sentence */
    expect("Dr. Smith paid $3.50 at 10.30 a.m. today. J. R. R. Tolkien wrote it! Did he?! \"Yes.\" Fine.", 45,
           (const char *const[]){"Dr. Smith paid $3.50 at 10.30 a.m. today.",
                                 "J. R. R. Tolkien wrote it! Did he?! \"Yes.\"", "Fine."},
           3);
    expect("Short text.", 800, (const char *const[]){"Short text."}, 1);
    expect("  One.  Two.  ", 800, (const char *const[]){"One.  Two."}, 1);
    /* CJK full stops end sentences without a space */
    expect("今天天气很好。我们去公园吧！好的？走吧。", 10,
           (const char *const[]){"今天天气很好。", "我们去公园吧！好的？", "走吧。"}, 3);
    /* a sentence over the limit: cut after a clause mark, else at a space */
    expect("one two three, four five six seven eight nine ten.", 20,
           (const char *const[]){"one two three,", "four five six seven", "eight nine ten."}, 3);
    expect("aaaaaaaaaaaaaaaaaaaaaaaaa", 10, (const char *const[]){"aaaaaaaaaa", "aaaaaaaaaa", "aaaaa"}, 3);
    /* blank lines end a paragraph even without a full stop */
    expect("Title\n\nFirst line of text here", 20,
           (const char *const[]){"Title", "First line of text", "here"}, 3);

    /* the byte limit binds for CJK: 3 bytes a character */
    int n = 0;
    char *cjk = malloc(3 * 3000 + 1);
    for (int i = 0; i < 3000; i++)
        memcpy(cjk + 3 * i, i % 20 == 19 ? "\xe3\x80\x82" : "\xe5\xa5\xbd", 3); /* 好...。 */
    cjk[9000] = '\0';
    char **c = split(cjk, 5000, 4000, &n);
    CHECK(n == 3, "3000 CJK characters, 4000-byte chunks: %d chunks (want 3)", n);
    studio_text_chunks_free(c, n);
    free(cjk);

    /* 50,000 characters of prose at the default 800: quick, and near the limit on average */
    const char *para = "Dr. Watson read 3.5 pages of the report. It was long, dull and full of numbers! Why? "
                       "Nobody knew, e.g. the clerk. ";
    size_t plen = strlen(para);
    char *big = malloc(50000 + plen + 1);
    size_t len = 0;
    while (len + plen <= 50000) {
        memcpy(big + len, para, plen);
        len += plen;
    }
    big[len] = '\0';
    clock_t t0 = clock();
    c = split(big, 800, 8000, &n);
    double ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += utf8_chars(c[i]);
    int ends_ok = 1;
    for (int i = 0; i < n; i++) {
        char last = c[i][strlen(c[i]) - 1];
        ends_ok &= last == '.' || last == '!' || last == '?';
    }
    printf("50,000 characters -> %d chunks (mean %.0f chars) in %.1f ms\n", n, (double)sum / n, ms);
    CHECK(ends_ok, "every chunk of prose ends at a sentence end");
    CHECK(n >= 63 && n <= 80, "%d chunks for %zu characters at 800", n, len);
    studio_text_chunks_free(c, n);
    free(big);

    if (failures) {
        fprintf(stderr, "test_text_chunks: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_text_chunks: all checks passed\n");
    return 0;
}
