/* error.c — filling qt_error. */
#include "engine/json_error.h"

#include <stdarg.h>
#include <stdio.h>

int qt_fail(qt_error *err, qt_error_kind kind, const char *fmt, ...)
{
    if (!err) return -1;
    err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int qt_json_fail(qt_error *err, const char *label, const json_error_t *je)
{
    if (json_error_code(je) == json_error_out_of_memory)
        return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory while reading it", label);
    return qt_fail(err, QT_ERR_CORRUPT, "%s: not valid JSON (line %d: %s)", label, je->line, je->text);
}
