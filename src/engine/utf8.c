/* utf8.c — the one UTF-8 validator: strict (no overlong forms, no surrogates, nothing past U+10FFFF) and
 * NUL-free, as text that reaches the tokenizer, a voice prompt file or the database must be. */
#include "engine/qt.h"

#include <stdint.h>

size_t qt_utf8_char_len(const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    if (n == 0 || s[0] == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

size_t qt_utf8_valid_prefix(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t len = qt_utf8_char_len(s + i, n - i);
        if (len == 0) return i;
        i += len;
    }
    return n;
}
