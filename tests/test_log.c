/* test_log.c — the studio log writes one line per message whatever the message holds (issue 16 item 9):
 * names with newlines, ANSI escapes, C1 controls or bytes that are not UTF-8 are escaped, text in other
 * scripts is kept as it is. */
#include "studio/log.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect(const char *in, const char *want)
{
    char out[256];
    studio_log_escape(in, out, sizeof out);
    CHECK(!strcmp(out, want), "escape of %zu bytes: expected '%s', got '%s'", strlen(in), want, out);
}

int main(void)
{
    expect("plain name", "plain name");
    expect("Ada\n2026-01-01 00:00:00.000 INFO forged", "Ada\\n2026-01-01 00:00:00.000 INFO forged");
    expect("\x1b[31mred\x1b[0m\r\t", "\\x1b[31mred\\x1b[0m\\r\\t");
    expect("back\\slash \x7f", "back\\\\slash \\x7f");
    expect("\xc2\x9b"
           "2J C1 CSI",
           "\\u009b2J C1 CSI");
    expect("bad \xff\xfe utf-8 \xe4\xb8", "bad \\xff\\xfe utf-8 \\xe4\\xb8");
    expect("surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80");
    expect("日本語 Ünïcödé 🎙", "日本語 Ünïcödé 🎙");

    /* cut at a whole escape, never inside one */
    char small[5];
    size_t n = studio_log_escape("ab\ncd", small, sizeof small);
    CHECK(n == 4 && !strcmp(small, "ab\\n"), "cut to 5 bytes: expected 'ab\\n', got '%s' (%zu)", small, n);
    n = studio_log_escape("a日本", small, sizeof small);
    CHECK(n == 4 && !strcmp(small, "a日"), "cut to 5 bytes: expected 'a日', got '%s' (%zu)", small, n);

    /* through the real log: one message, one line in the file */
    char path[] = "/tmp/test_log.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp failed");
    close(fd);
    CHECK(studio_log_open(path) == 0, "cannot open the log %s", path);
    log_info("profile created: %s", "Eve\n2026-01-01 00:00:00.000 ERROR database corrupt\x1b]0;pwned\x07");
    studio_log_close();
    size_t size = 0;
    char *text = read_file(path, &size);
    int lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    printf("logged: %s", text ? text : "(nothing)\n");
    CHECK(lines == 1 && text && strstr(text, "Eve\\n2026") && strstr(text, "\\x1b]0;pwned\\x07") &&
              !strchr(text, '\x1b'),
          "one escaped line expected in the log, got %d lines: %s", lines, text ? text : "");
    free(text);
    unlink(path);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("log escaping checks passed\n");
    return 0;
}
