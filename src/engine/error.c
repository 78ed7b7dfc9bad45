/* error.c — filling qt_error. */
#include "engine/qt.h"

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
