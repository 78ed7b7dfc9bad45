/* wh_config.h — parsing Whisper's config.json and generation_config.json (wh_config.c); exposed for the
 * loader, the tests and the fuzz target. */
#ifndef WH_CONFIG_H
#define WH_CONFIG_H

#include "whisper/wh_internal.h"

/* config.json (transformers' WhisperConfig names) -> *c. `label` names the file in messages. */
int wh_config_parse(const char *json, size_t len, const char *label, wh_config *c, wh_error *err);

/* generation_config.json -> its suppress_tokens (malloc'd, *n may be 0 when the field is absent). */
int wh_generation_config_parse(const char *json, size_t len, const char *label, int32_t **suppress, int *n,
                               wh_error *err);

#endif
