/* json_error.h — the engine's one way to report JSON that jansson could not load (config.json,
 * tokenizer files, safetensors headers), so that a lack of memory is not reported as a damaged file. */
#ifndef QT_JSON_ERROR_H
#define QT_JSON_ERROR_H

#include "engine/qt.h"

#include <jansson.h>

/* QT_ERR_NOMEM when jansson says it ran out of memory (the file may well be fine), else QT_ERR_CORRUPT with
 * the line and jansson's reason. Returns -1. */
int qt_json_fail(qt_error *err, const char *label, const json_error_t *je);

#endif
